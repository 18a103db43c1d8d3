"""Reads of a document's files through their signed URLs: checked again when the URL is
used (a URL outlives a change of role or a deactivation by minutes) and audited, one event
per read, in the request's transaction."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from backend.accounts.models import User
from backend.audit.services import audit_record
from backend.documents.access import may_read
from backend.documents.models import PatientDocument
from backend.files.models import FilePurpose, StoredFile
from backend.files.signing import read_hook_register


def document_read_check(stored: StoredFile, user_id: int) -> None:
    """The hook of the files' download view for documents and their previews: the user must
    still be active and allowed to read the document's kind; the read is audited."""
    document = (
        PatientDocument.objects.filter(Q(original=stored) | Q(preview=stored))
        .only("pk", "kind", "patient_id", "original_id", "preview_id")
        .first()
    )
    user = User.objects.filter(pk=user_id).first()
    if document is None or user is None or not may_read(user, document.kind):
        raise PermissionDenied
    audit_record(
        actor=user,
        action="patient_document.read",
        entity=document,
        changes={
            "patient_id": document.patient_id,
            "file": "original" if document.original_id == stored.pk else "preview",
        },
    )


def read_hooks_register() -> None:
    read_hook_register(FilePurpose.DOCUMENT, document_read_check)
    read_hook_register(FilePurpose.PREVIEW, document_read_check)

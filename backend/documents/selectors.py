"""Reading patient documents, scoped to the kinds the actor's role may read: a kind it may
not read is neither listed nor found (``NOT_FOUND``, as if it did not exist)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core.lookups import get_or_not_found
from backend.documents.access import readable_kinds
from backend.documents.models import PatientDocument


def document_list(
    *,
    actor: User,
    patient_id: int,
    kind: str | None = None,
    include_archived: bool = False,
) -> QuerySet[PatientDocument]:
    """The patient's documents the actor may read, newest first; archived ones only when
    asked for."""
    documents = PatientDocument.objects.filter(
        patient_id=patient_id, kind__in=sorted(readable_kinds(actor))
    )
    if kind is not None:
        documents = documents.filter(kind=kind)
    if not include_archived:
        documents = documents.filter(archived_at__isnull=True)
    return documents.order_by("-created_at", "-id")


def document_get(*, actor: User, document_id: int | str) -> PatientDocument:
    """One document the actor may read (archived or not); ``NOT_FOUND`` otherwise."""
    documents = PatientDocument.objects.filter(kind__in=sorted(readable_kinds(actor)))
    return get_or_not_found(
        documents.select_related("patient", "original", "preview"),
        document_id,
        _("No such document."),
    )

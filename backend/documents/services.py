"""Writes on patient documents: upload, update, archive and unarchive. Documents are health
records: archived, never deleted.

An upload is checked whole (its real type from its bytes, the DICOM header, the teeth, the
date) before ``file_store`` writes anything, and stored in the same transaction as its row
and its audit event: a refusal leaves nothing, neither a row nor an object in storage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.audit.services import assign, audit_record
from backend.clinical.teeth import validate_tooth
from backend.core.error_codes import Forbidden
from backend.core.errors import field_error
from backend.documents.access import may_write
from backend.documents.content import document_inspect
from backend.documents.errors import DocumentError
from backend.documents.models import NOTE_MAX_LENGTH, DocumentKind, PatientDocument
from backend.files.models import FilePurpose
from backend.files.services import file_store
from backend.patients.models import Patient
from tenants_core.context import current_timezone
from tenants_core.limits import limit_reserve

ORIGINAL_NAME_MAX_LENGTH = 255


def _kind(actor: User, kind: str) -> str:
    if kind not in DocumentKind.values:
        raise field_error("kind", _("Unknown kind of document."), DocumentError.INVALID_KIND)
    if not may_write(actor, kind):
        raise Forbidden(kind)
    return kind


def _taken_on(value: dt.date | None) -> dt.date | None:
    if value is not None and value > timezone.localdate(timezone=current_timezone()):
        raise field_error("taken_on", _("This date is in the future."), DocumentError.INVALID_DATE)
    return value


def _teeth(values: Iterable[int] | None) -> list[int]:
    """FDI numbers, validated like the odontogram's, without repeats, in order."""
    teeth = set()
    for tooth in values or ():
        try:
            teeth.add(validate_tooth(tooth))
        except ValidationError as error:
            raise ValidationError({"teeth": error}) from None
    # Without repeats there are at most 52 (a panoramic of a mixed dentition may show them).
    return sorted(teeth)


def _note(value: str | None) -> str:
    value = (value or "").strip()
    if len(value) > NOTE_MAX_LENGTH:
        raise field_error(
            "note",
            _("At most %(max)d characters.") % {"max": NOTE_MAX_LENGTH},
            DocumentError.TOO_LONG,
        )
    return value


@transaction.atomic
def document_upload(
    *,
    actor: User,
    patient: Patient,
    kind: str,
    content: bytes,
    original_name: str = "",
    taken_on: dt.date | None = None,
    teeth: Iterable[int] | None = None,
    note: str = "",
) -> PatientDocument:
    """File ``content`` under ``patient``: its real type from its bytes (JPEG, PNG, WebP, PDF
    or DICOM), a preview for images and decodable DICOMs, the DICOM header's mismatches with
    the patient kept as warnings. ``FORBIDDEN`` for a kind the actor may not upload."""
    kind = _kind(actor, kind)
    taken_on = _taken_on(taken_on)
    teeth_list = _teeth(teeth)
    note = _note(note)
    name = (original_name or "").strip()[:ORIGINAL_NAME_MAX_LENGTH]
    inspected = document_inspect(content, patient=patient)
    # Everything is valid: from here on, the files are stored with the row, or not at all.
    # The quota for both objects first: a preview refused for quota must not leave the
    # original's object behind.
    preview_size = len(inspected.preview.content) if inspected.preview is not None else 0
    limit_reserve(resource="storage_bytes", adding=len(content) + preview_size)
    original = file_store(
        content=content,
        purpose=FilePurpose.DOCUMENT,
        content_type=inspected.mime,
        extension=inspected.extension,
        original_name=name,
        actor=actor,
        width=inspected.width,
        height=inspected.height,
    )
    preview = None
    if inspected.preview is not None:
        preview = file_store(
            content=inspected.preview.content,
            purpose=FilePurpose.PREVIEW,
            content_type=inspected.preview.mime,
            extension=inspected.preview.extension,
            original_name="",
            actor=actor,
            width=inspected.preview.width,
            height=inspected.preview.height,
        )
    document = PatientDocument.objects.create(
        patient=patient,
        kind=kind,
        original=original,
        preview=preview,
        taken_on=taken_on,
        teeth=teeth_list,
        note=note,
        dicom_warnings=inspected.dicom_warnings,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action="patient_document.upload",
        entity=document,
        changes={
            "patient_id": patient.pk,
            "kind": kind,
            "content_type": inspected.mime,
            "size_bytes": len(content),
            "sha256": original.sha256,
            "dicom_warnings": inspected.dicom_warnings,
        },
    )
    return document


def _locked(document: PatientDocument) -> PatientDocument:
    return PatientDocument.objects.select_for_update(no_key=True).get(pk=document.pk)


@transaction.atomic
def document_update(
    *, actor: User, document: PatientDocument, data: Mapping[str, Any]
) -> PatientDocument:
    """Change the kind, date, teeth or note (keys left out stay). The actor must be allowed
    to upload both the document's kind and the new one."""
    document = _locked(document)
    _kind(actor, document.kind)
    values: dict[str, Any] = {}
    if "kind" in data:
        values["kind"] = _kind(actor, data["kind"])
    if "taken_on" in data:
        values["taken_on"] = _taken_on(data["taken_on"])
    if "teeth" in data:
        values["teeth"] = _teeth(data["teeth"])
    if "note" in data:
        values["note"] = _note(data["note"])
    changes = assign(document, values)
    if changes:
        document.updated_at = timezone.now()
        document.save(update_fields=[*values, "updated_at"])
    audit_record(actor=actor, action="patient_document.update", entity=document, changes=changes)
    return document


@transaction.atomic
def document_archive(*, actor: User, document: PatientDocument) -> PatientDocument:
    """Take a document out of the patient's list; it stays, readable with ``includeArchived``."""
    document = _locked(document)
    _kind(actor, document.kind)
    if document.archived_at is not None:
        raise field_error(None, _("This document is already archived."), DocumentError.ARCHIVED)
    document.archived_at = timezone.now()
    document.archived_by = actor
    document.save(update_fields=["archived_at", "archived_by"])
    audit_record(actor=actor, action="patient_document.archive", entity=document)
    return document


@transaction.atomic
def document_unarchive(*, actor: User, document: PatientDocument) -> PatientDocument:
    """Bring an archived document back to the patient's list."""
    document = _locked(document)
    _kind(actor, document.kind)
    if document.archived_at is None:
        raise field_error(None, _("This document is not archived."), DocumentError.NOT_ARCHIVED)
    document.archived_at = None
    document.archived_by = None
    document.save(update_fields=["archived_at", "archived_by"])
    audit_record(actor=actor, action="patient_document.unarchive", entity=document)
    return document

"""Writes on patients: register, update, archive, and the front desk's alert."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.accounts.roles import role_has_permission
from backend.audit.services import assign, audit_record
from backend.clinical.permissions import ClinicalPermission
from backend.core import contacts
from backend.core.error_codes import CommonError
from backend.core.errors import save_refusing
from backend.core.text import validate_line
from backend.core.transactions import atomic_service
from backend.patients import validators as v
from backend.patients.errors import PatientError
from backend.patients.models import FRONT_DESK_ALERT_MAX_LENGTH, DocumentType, Patient, Sex
from tenants_core.limits import limit_reserve

_FIELDS: dict[str, Callable[[Any], Any]] = {
    "first_name": v.validate_name,
    "last_name": v.validate_name,
    "birth_date": v.validate_birth_date,
    "sex": lambda value: Sex(value) if value else "",
    "phone": contacts.normalize_phone,
    "email": contacts.normalize_email,
    "address": lambda value: v.validate_text(value, max_length=300),
    "emergency_contact_name": lambda value: v.validate_text(value, max_length=200),
    "emergency_contact_phone": contacts.normalize_phone,
    "notes": lambda value: v.validate_text(value, max_length=5000),
    "allergies": lambda value: v.validate_text(value, max_length=2000),
    "medical_alerts": lambda value: v.validate_text(value, max_length=2000),
}
REQUIRED = ("first_name", "last_name", "document_type", "document_number")
# Health data (Ley 29733): what a clinician recorded, which the front desk must not overwrite
# blindly (nor read: see graphql_api/patients/types.py).
CLINICAL_FIELDS = ("allergies", "medical_alerts")


def _refuse_clinical_fields(actor: User | None, fields: list[str]) -> None:
    """``FORBIDDEN`` on each clinical field given, unless the actor may write clinical data."""
    if not fields or (
        actor is not None and role_has_permission(actor.role, ClinicalPermission.WRITE_CLINICAL)
    ):
        return
    raise ValidationError(
        {
            field: ValidationError(
                _("Only a clinician can record allergies and medical alerts."),
                code=CommonError.FORBIDDEN,
            )
            for field in fields
        }
    )


def _clean(data: Mapping[str, Any], *, current: Patient | None = None) -> dict[str, Any]:
    """Validate and normalize the given fields; every problem is reported at once."""
    errors: dict[str, list[ValidationError]] = {}
    cleaned: dict[str, Any] = {}
    for field, value in data.items():
        if field in _FIELDS:
            try:
                cleaned[field] = _FIELDS[field](value)
            except ValidationError as error:
                errors.setdefault(field, []).append(error)
    if "document_type" in data or "document_number" in data:
        document_type = data.get("document_type") or (current.document_type if current else "")
        number = data.get("document_number", current.document_number if current else "")
        try:
            cleaned["document_type"] = kind = DocumentType(document_type)
            cleaned["document_number"] = v.validate_document(kind, number)
        except (ValidationError, ValueError) as error:
            message = error if isinstance(error, ValidationError) else None
            errors.setdefault("document_number", []).append(
                message
                or ValidationError(_("Unknown document type."), code=PatientError.INVALID_DOCUMENT)
            )
    if errors:
        raise ValidationError(errors)
    return cleaned


def _given(value: Any) -> bool:
    """A clinical field's value says something: not null, not blank (what it is stored as)."""
    return bool(value.strip()) if isinstance(value, str) else value is not None


def _locked(patient: Patient) -> Patient:
    """The patient's row, fresh and locked for a change to its own columns. ``FOR NO KEY
    UPDATE``, not ``FOR UPDATE``: inserting an appointment, a note or a charge takes ``KEY
    SHARE`` on the patient (the foreign key), which ``FOR UPDATE`` would make wait, so editing
    a patient would hold up their bookings. Changing the document (the unique key) still takes
    the strong lock, when the row is written."""
    return Patient.objects.select_for_update(no_key=True).get(pk=patient.pk)


def _document_taken() -> ValidationError:
    return ValidationError(
        {
            "document_number": ValidationError(
                _("A patient with this document already exists."),
                code=PatientError.DOCUMENT_TAKEN,
            )
        }
    )


def _save(patient: Patient, **kwargs: Any) -> None:
    save_refusing(partial(patient.save, **kwargs), {"patient_document_unique": _document_taken})


@atomic_service
def patient_create(
    *, actor: User | None, data: Mapping[str, Any], actor_label: str = ""
) -> Patient:
    """Register a patient. Counts against the plan's patient limit, under the clinic's lock.
    Allergies and medical alerts need ``clinical.write`` (a null or empty one counts as not
    given: there is nothing to write)."""
    _refuse_clinical_fields(actor, [f for f in CLINICAL_FIELDS if _given(data.get(f))])
    missing = [field for field in REQUIRED if not data.get(field)]
    cleaned = _clean(data)
    if missing:
        raise ValidationError(
            {
                field: ValidationError(_("This field is required."), code=CommonError.REQUIRED)
                for field in missing
            }
        )
    limit_reserve(resource="patients")
    if Patient.objects.filter(
        document_type=cleaned["document_type"], document_number=cleaned["document_number"]
    ).exists():
        raise _document_taken()
    patient = Patient(**cleaned)
    _save(patient)
    audit_record(
        actor=actor,
        actor_email=actor_label,
        action="patient.create",
        entity=patient,
        changes={k: str(val) for k, val in cleaned.items()},
    )
    return patient


@atomic_service
def patient_update(*, actor: User, patient: Patient, data: Mapping[str, Any]) -> Patient:
    """Change the given fields only; the audit event keeps what changed. Allergies and
    medical alerts need ``clinical.write`` (a null or empty one clears them: it counts as
    given), unless nothing is stored there: then it changes nothing, and a form that sends
    every field works for the front desk too."""
    patient = _locked(patient)
    _refuse_clinical_fields(
        actor,
        [
            f
            for f in CLINICAL_FIELDS
            if f in data and (_given(data[f]) or _given(getattr(patient, f)))
        ],
    )
    cleaned = _clean(data, current=patient)
    changes = assign(patient, cleaned)
    patient.updated_at = timezone.now()
    _save(patient)
    audit_record(actor=actor, action="patient.update", entity=patient, changes=changes)
    return patient


@transaction.atomic
def patient_archive(*, actor: User, patient: Patient) -> Patient:
    """Archive a patient: kept with all its history, hidden from search, not counted."""
    patient = _locked(patient)
    if patient.is_archived:
        raise ValidationError(
            _("This patient is already archived."), code=PatientError.ALREADY_ARCHIVED
        )
    patient.is_archived = True
    patient.updated_at = timezone.now()
    patient.save(update_fields=["is_archived", "updated_at"])
    audit_record(
        actor=actor,
        action="patient.archive",
        entity=patient,
        changes={"is_archived": {"from": False, "to": True}},
    )
    return patient


@transaction.atomic
def patient_front_desk_alert_set(*, actor: User, patient: Patient, text: str | None) -> Patient:
    """Write the warning that the front desk sees on the patient, or clear it (empty text).

    A clinician writes it in their own words ("Requiere profilaxis antibiótica antes de
    cualquier procedimiento"): it is the only health-related text that reaches roles without
    ``clinical.view``, so nothing of the anamnesis gets there by itself. It records who wrote
    it and when; the audit trail keeps every version."""
    try:
        text = validate_line(text, max_length=FRONT_DESK_ALERT_MAX_LENGTH)
    except ValidationError as error:
        raise ValidationError({"text": error}) from None
    patient = _locked(patient)
    before = patient.front_desk_alert
    now = timezone.now()
    patient.front_desk_alert = text
    patient.front_desk_alert_by = actor if text else None
    patient.front_desk_alert_at = now if text else None
    patient.updated_at = now
    patient.save(
        update_fields=[
            "front_desk_alert",
            "front_desk_alert_by",
            "front_desk_alert_at",
            "updated_at",
        ]
    )
    audit_record(
        actor=actor,
        action="patient.set_front_desk_alert",
        entity=patient,
        changes={"front_desk_alert": {"from": before, "to": text}},
    )
    return patient

"""Writes on clinical records: anamnesis versions, notes and addenda, odontogram findings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Role, User
from backend.audit.models import AuditEvent
from backend.audit.services import audit_record
from backend.clinical.errors import ClinicalError
from backend.clinical.models import (
    MATERIAL_CONDITIONS,
    SURFACE_CONDITIONS,
    WHOLE_TOOTH_CONDITIONS,
    ClinicalNote,
    Condition,
    Finding,
    FindingCondition,
    FindingState,
    Material,
    MedicalHistory,
    NoteAddendum,
    NoteStatus,
)
from backend.clinical.teeth import validate_surfaces, validate_tooth
from backend.core.errors import field_error
from backend.core.transactions import atomic_service
from backend.patients.models import Patient
from backend.scheduling.models import Appointment
from tenants_core.context import current_timezone

TEXT_LIMIT = 10_000


def _text(value: str | None, field: str, max_length: int = TEXT_LIMIT) -> str:
    value = (value or "").strip()
    if len(value) > max_length:
        raise field_error(
            field, _("At most %(max)d characters.") % {"max": max_length}, ClinicalError.TOO_LONG
        )
    return value


# --- anamnesis -----------------------------------------------------------------------------


def _alerts_summary(history: MedicalHistory) -> str:
    labels = [str(Condition(code).label) for code in history.conditions]
    if history.takes_anticoagulants:
        labels.append(str(_("Takes anticoagulants")))
    if history.is_pregnant:
        labels.append(str(_("Pregnant")))
    return ", ".join(labels)


@atomic_service
def medical_history_record(
    *, actor: User, patient: Patient, data: Mapping[str, Any]
) -> MedicalHistory:
    """Record a new version of the anamnesis. The patient's allergies and medical alerts
    follow it: they are clinical data too (``clinical.view`` to read them). Nothing of it
    reaches the front desk; a clinician who wants to warn them writes a front-desk alert."""
    # NO KEY: the patient's bookings, notes and charges (KEY SHARE on this row) need not wait.
    patient = Patient.objects.select_for_update(no_key=True).get(pk=patient.pk)
    conditions = []
    for code in data.get("conditions") or []:
        if code not in Condition.values:
            raise field_error(
                "conditions",
                _("Unknown condition “%(code)s”.") % {"code": code},
                ClinicalError.INVALID_CONDITION,
            )
        if code not in conditions:
            conditions.append(code)
    last_visit = data.get("last_dental_visit")
    if last_visit is not None and last_visit > timezone.localdate(timezone=current_timezone()):
        raise field_error(
            "last_dental_visit", _("This date is in the future."), ClinicalError.INVALID_DATE
        )
    version = (
        MedicalHistory.objects.filter(patient=patient).aggregate(v=Max("version"))["v"] or 0
    ) + 1
    history = MedicalHistory.objects.create(
        patient=patient,
        version=version,
        conditions=conditions,
        conditions_notes=_text(data.get("conditions_notes"), "conditions_notes", 2000),
        medications=_text(data.get("medications"), "medications", 2000),
        allergies=_text(data.get("allergies"), "allergies", 2000),
        is_pregnant=data.get("is_pregnant"),
        is_smoker=bool(data.get("is_smoker")),
        takes_anticoagulants=bool(data.get("takes_anticoagulants")),
        last_dental_visit=last_visit,
        recorded_by=actor,
    )
    # The patient's alerts follow the anamnesis, but an empty anamnesis field never wipes
    # what was registered with the patient.
    patient.allergies = history.allergies or patient.allergies
    patient.medical_alerts = _alerts_summary(history) or patient.medical_alerts
    patient.updated_at = timezone.now()
    patient.save(update_fields=["allergies", "medical_alerts", "updated_at"])
    audit_record(
        actor=actor,
        action="medical_history.record",
        entity=history,
        changes={"patient_id": patient.pk, "version": version, "conditions": conditions},
    )
    return history


# --- notes ---------------------------------------------------------------------------------

SOAP = ("subjective", "objective", "assessment", "plan")


def _must_be_author(actor: User, note: ClinicalNote) -> None:
    if actor.role != Role.ADMIN and note.author_id != actor.pk:
        raise field_error(
            None,
            _("Only the note's author or an admin can do this."),
            ClinicalError.NOT_NOTE_AUTHOR,
        )


def _may_edit(actor: User, note: ClinicalNote) -> None:
    if note.status == NoteStatus.SIGNED:
        raise field_error(
            None,
            _("This note is signed and cannot change; add an addendum."),
            ClinicalError.NOTE_SIGNED,
        )
    _must_be_author(actor, note)


@transaction.atomic
def note_create(
    *,
    actor: User,
    patient: Patient,
    appointment: Appointment | None = None,
    data: Mapping[str, Any],
) -> ClinicalNote:
    """Start a draft note for a visit (one note per appointment)."""
    if appointment is not None:
        if appointment.patient_id != patient.pk:
            raise field_error(
                "appointment_id",
                _("This appointment is another patient's."),
                ClinicalError.WRONG_PATIENT,
            )
        if ClinicalNote.objects.filter(appointment=appointment).exists():
            raise field_error(
                "appointment_id",
                _("This visit already has a note."),
                ClinicalError.APPOINTMENT_HAS_NOTE,
            )
    note = ClinicalNote(
        patient=patient,
        appointment=appointment,
        author=actor,
        **{field: _text(data.get(field), field) for field in SOAP},
    )
    try:
        with transaction.atomic():
            note.save()
    except IntegrityError:
        raise field_error(
            "appointment_id",
            _("This visit already has a note."),
            ClinicalError.APPOINTMENT_HAS_NOTE,
        ) from None
    audit_record(
        actor=actor, action="clinical_note.create", entity=note, changes={"patient_id": patient.pk}
    )
    return note


@transaction.atomic
def note_update(*, actor: User, note: ClinicalNote, data: Mapping[str, Any]) -> ClinicalNote:
    """Change a draft. A signed note answers ``NOTE_SIGNED``."""
    note = ClinicalNote.objects.select_for_update().get(pk=note.pk)
    _may_edit(actor, note)
    changed = {}
    for field in SOAP:
        if field in data:
            value = _text(data[field], field)
            if value != getattr(note, field):
                changed[field] = True
                setattr(note, field, value)
    note.updated_at = timezone.now()
    note.save()
    audit_record(
        actor=actor, action="clinical_note.update", entity=note, changes={"fields": sorted(changed)}
    )
    return note


@transaction.atomic
def note_sign(*, actor: User, note: ClinicalNote) -> ClinicalNote:
    """Sign a draft: from now on it never changes. Its author (a dentist) or an admin."""
    note = ClinicalNote.objects.select_for_update().get(pk=note.pk)
    _may_edit(actor, note)
    if not any(getattr(note, field) for field in SOAP):
        raise field_error(None, _("An empty note cannot be signed."), ClinicalError.NOTE_EMPTY)
    note.status = NoteStatus.SIGNED
    note.signed_by = actor
    note.signed_at = timezone.now()
    note.save(update_fields=["status", "signed_by", "signed_at"])
    audit_record(
        actor=actor,
        action="clinical_note.sign",
        entity=note,
        changes={"signed_at": note.signed_at.isoformat()},
    )
    return note


@transaction.atomic
def addendum_add(*, actor: User, note: ClinicalNote, text: str) -> NoteAddendum:
    """Correct or complete a signed note; the addendum is signed and timestamped at once.

    Only the note's author or an admin: an addendum speaks for the note it is attached to.
    Another clinician with something to add writes a note of their own."""
    _must_be_author(actor, note)
    if note.status != NoteStatus.SIGNED:
        raise field_error(
            None,
            _("Edit the draft instead: addenda are for signed notes."),
            ClinicalError.NOTE_NOT_SIGNED,
        )
    text = _text(text, "text")
    if not text:
        raise field_error("text", _("An addendum needs text."), ClinicalError.NOTE_EMPTY)
    addendum = NoteAddendum.objects.create(note=note, author=actor, text=text)
    audit_record(
        actor=actor,
        action="clinical_note.add_addendum",
        entity=note,
        changes={"addendum_id": addendum.pk},
    )
    return addendum


def note_reads_record(*, actor: User, notes: Iterable[ClinicalNote]) -> None:
    """Audit that ``actor`` read these notes: reads of clinical records leave a trace."""
    from backend.audit.context import current_origin

    origin = current_origin()
    AuditEvent.objects.bulk_create(
        AuditEvent(
            actor=actor,
            actor_email=actor.email,
            action="clinical_note.read",
            entity_type="clinical.clinicalnote",
            entity_id=str(note.pk),
            ip=origin.ip,
            user_agent=origin.user_agent,
        )
        for note in notes
    )


# --- odontogram ----------------------------------------------------------------------------


def _finding_fields(
    tooth: int, surfaces: list[str] | None, condition: str, material: str | None
) -> dict[str, Any]:
    try:
        tooth = validate_tooth(tooth)
    except ValidationError as error:
        raise ValidationError({"tooth": error}) from None
    try:
        surfaces = validate_surfaces(tooth, surfaces)
    except ValidationError as error:
        raise ValidationError({"surfaces": error}) from None
    condition = FindingCondition(condition)
    if condition in SURFACE_CONDITIONS and not surfaces:
        raise field_error("surfaces", _("Say which surfaces."), ClinicalError.SURFACES_REQUIRED)
    if condition in WHOLE_TOOTH_CONDITIONS and surfaces:
        raise field_error(
            "surfaces",
            _("This condition is on the whole tooth."),
            ClinicalError.SURFACES_NOT_ALLOWED,
        )
    if condition in MATERIAL_CONDITIONS and not material:
        raise field_error("material", _("Say which material."), ClinicalError.MATERIAL_REQUIRED)
    return {
        "tooth": tooth,
        "surfaces": surfaces,
        "condition": condition,
        "material": Material(material) if material else "",
    }


@transaction.atomic
def finding_record(
    *,
    actor: User,
    patient: Patient,
    tooth: int,
    condition: str,
    state: str = FindingState.EXISTING,
    surfaces: list[str] | None = None,
    material: str | None = None,
    notes: str = "",
    at: dt.datetime | None = None,
) -> Finding:
    """Add a finding to the patient's odontogram."""
    finding = Finding.objects.create(
        patient=patient,
        state=FindingState(state),
        notes=_text(notes, "notes", 300),
        recorded_by=actor,
        recorded_at=at or timezone.now(),
        **_finding_fields(tooth, surfaces, condition, material),
    )
    audit_record(
        actor=actor,
        action="odontogram.record",
        entity=finding,
        changes={
            "patient_id": patient.pk,
            "tooth": finding.tooth,
            "condition": finding.condition,
            "surfaces": finding.surfaces,
            "state": finding.state,
        },
    )
    return finding


def _resolve(finding: Finding, actor: User, resolution: str, at: dt.datetime) -> Finding:
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    if finding.resolved_at is not None:
        raise field_error(
            None, _("This finding was already changed or removed."), ClinicalError.FINDING_RESOLVED
        )
    finding.resolved_at, finding.resolved_by, finding.resolution = at, actor, resolution
    finding.save(update_fields=["resolved_at", "resolved_by", "resolution"])
    return finding


@transaction.atomic
def finding_change_state(
    *, actor: User, finding: Finding, state: str, at: dt.datetime | None = None
) -> Finding:
    """A planned finding becomes existing (or back): the old entry is closed, a new one opens."""
    state = FindingState(state)
    # As it is now, held; a closed entry is FINDING_RESOLVED (in _resolve), whatever the state.
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    if finding.resolved_at is None and finding.state == state:
        raise field_error(
            "state", _("The finding is already in this state."), ClinicalError.INVALID_STATE
        )
    at = at or timezone.now()
    old = _resolve(finding, actor, f"state → {state}", at)
    new = Finding.objects.create(
        patient_id=old.patient_id,
        tooth=old.tooth,
        surfaces=old.surfaces,
        condition=old.condition,
        material=old.material,
        state=state,
        notes=old.notes,
        recorded_by=actor,
        recorded_at=at,
        replaces=old,
    )
    audit_record(
        actor=actor,
        action="odontogram.change_state",
        entity=new,
        changes={"replaces": old.pk, "state": {"from": old.state, "to": state}},
    )
    return new


@transaction.atomic
def finding_remove(*, actor: User, finding: Finding, reason: str) -> Finding:
    """Take a finding off the chart from now on (it stays in the history)."""
    reason = _text(reason, "reason", 300) or "Removed"  # stored: not translated
    finding = _resolve(finding, actor, reason, timezone.now())
    audit_record(
        actor=actor, action="odontogram.remove", entity=finding, changes={"reason": reason}
    )
    return finding

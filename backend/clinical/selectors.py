"""Reading clinical records, scoped to what the actor may see: notes by their author when
the clinic restricts them; the anamnesis and the odontogram are read by every role that may
read clinical records, and take the ``actor`` so that a rule about them has one place to go."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from backend.accounts.models import Role, User
from backend.clinical.models import ClinicalNote, Finding, MedicalHistory
from backend.core.lookups import get_or_not_found
from tenants_core.context import current_clinic


def medical_history_versions(*, actor: User, patient_id: int) -> QuerySet[MedicalHistory]:
    """Every version, newest first."""
    return MedicalHistory.objects.filter(patient_id=patient_id).order_by("-version")


def note_list(*, actor: User, patient_id: int | None = None) -> QuerySet[ClinicalNote]:
    """Notes the actor may read: all of them, or only their own when the clinic restricts
    notes to their authors (admins still read every note)."""
    notes = ClinicalNote.objects.all()
    if patient_id is not None:
        notes = notes.filter(patient_id=patient_id)
    if current_clinic().restrict_notes_to_author and actor.role != Role.ADMIN:
        notes = notes.filter(author=actor)
    return notes.order_by("-created_at", "-id")


def note_get(*, actor: User, note_id: int | str) -> ClinicalNote:
    """One note the actor may read; ``NOT_FOUND`` otherwise (whether it exists or not)."""
    return get_or_not_found(note_list(actor=actor), note_id, _("No such clinical note."))


def finding_get(*, actor: User, finding_id: int | str) -> Finding:
    return get_or_not_found(Finding, finding_id, _("No such finding."))


def odontogram_findings(
    *, actor: User, patient_id: int, at: dt.datetime | None = None
) -> QuerySet[Finding]:
    """The findings on the chart now, or as they were at ``at``."""
    findings = Finding.objects.filter(patient_id=patient_id)
    if at is None:
        findings = findings.filter(resolved_at__isnull=True)
    else:
        findings = findings.filter(recorded_at__lte=at).filter(
            Q(resolved_at__isnull=True) | Q(resolved_at__gt=at)
        )
    return findings.order_by("tooth", "recorded_at", "id")

"""Permissions of clinical records: stricter than the agenda."""

from enum import StrEnum

from backend.accounts.models import Role
from backend.accounts.permissions import Grant

CLINICIANS = frozenset({Role.ADMIN, Role.DENTIST})


class ClinicalPermission(StrEnum):
    VIEW_CLINICAL = "clinical.view"
    WRITE_CLINICAL = "clinical.write"
    RECORD_FINDINGS = "clinical.record_findings"
    SIGN_NOTES = "clinical.sign_notes"


GRANTS = (
    Grant(
        ClinicalPermission.VIEW_CLINICAL,
        CLINICIANS | {Role.ASSISTANT},
        "Read anamnesis, patients' allergies and medical alerts, clinical notes, the "
        "odontogram and plan items",
    ),
    Grant(
        ClinicalPermission.WRITE_CLINICAL,
        CLINICIANS,
        "Update the anamnesis and patients' allergies and medical alerts; write the "
        "front-desk alert, notes, and addenda to one's own notes",
    ),
    Grant(
        ClinicalPermission.RECORD_FINDINGS,
        CLINICIANS | {Role.ASSISTANT},
        "Record and resolve odontogram findings",
    ),
    Grant(
        ClinicalPermission.SIGN_NOTES,
        CLINICIANS,
        "Sign clinical notes (a dentist only their own)",
    ),
)

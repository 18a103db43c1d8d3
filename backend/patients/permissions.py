"""Permissions of the patients domain."""

from enum import StrEnum

from backend.accounts.models import Role
from backend.accounts.permissions import Grant


class PatientPermission(StrEnum):
    VIEW_PATIENTS = "patients.view"
    MANAGE_PATIENTS = "patients.manage"
    ARCHIVE_PATIENTS = "patients.archive"


GRANTS = (
    Grant(PatientPermission.VIEW_PATIENTS, frozenset(Role), "Find and read patients"),
    Grant(
        PatientPermission.MANAGE_PATIENTS,
        frozenset({Role.ADMIN, Role.RECEPTIONIST, Role.DENTIST}),
        "Register patients and update their data (allergies and medical alerts need "
        "clinical.write)",
    ),
    Grant(
        PatientPermission.ARCHIVE_PATIENTS,
        frozenset({Role.ADMIN, Role.RECEPTIONIST}),
        "Archive patients (frees a seat of the plan)",
    ),
)

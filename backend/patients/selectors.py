"""Reading patients.

A patient's identity record is the clinic's shared reference: every role that may see
patients finds all of them (a search that hid one would breed a second registration of the
same person), and every domain loads patients by ID through ``patient_get``, so these take no
``actor``. What is sensitive in the record is ruled here by the actor: the health data
(``reads_health_data``).
"""

from __future__ import annotations

import unicodedata

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.accounts.roles import role_has_permission
from backend.clinical.permissions import ClinicalPermission
from backend.core.lookups import get_or_not_found
from backend.patients.models import Patient

ORDERINGS = {
    "LAST_NAME": ("last_name", "first_name", "id"),
    "LAST_NAME_DESC": ("-last_name", "-first_name", "-id"),
    "NEWEST": ("-created_at", "-id"),
    "OLDEST": ("created_at", "id"),
}


def _fold(text: str) -> str:
    """Lowercase without accents, as ``search_text`` is stored (unaccent in PostgreSQL)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def patient_list(
    *, search: str | None = None, include_archived: bool = False, order_by: str = "LAST_NAME"
) -> QuerySet[Patient]:
    """Patients, filtered by a search that ignores accents and case and matches partial words
    of the names and the document number: "jose per" finds "José Pérez". Each word must
    match; the trigram index on ``search_text`` serves the ``LIKE``s."""
    patients = Patient.objects.all()
    if not include_archived:
        patients = patients.filter(is_archived=False)
    for word in _fold(search or "").split()[:8]:
        patients = patients.filter(search_text__contains=word)
    return patients.order_by(*ORDERINGS[order_by])


def patient_rows(*, patient_id: int | str) -> QuerySet[Patient]:
    """The patient ``patient_get`` answers, as a queryset (empty for ``NOT_FOUND``; a key that
    is not a number raises ``ValueError``). Compiled reads select from it."""
    return Patient.objects.filter(pk=int(patient_id))


def patient_get(*, patient_id: int | str) -> Patient:
    """One patient, archived or not; ``NOT_FOUND`` when this clinic has no such patient."""
    return get_or_not_found(Patient, patient_id, _("No such patient."))


def reads_health_data(*, actor: User | None) -> bool:
    """Whether ``actor`` may read a patient's health data (``allergies``, ``medical_alerts``):
    the roles that read clinical records. The others read the patient without it."""
    return actor is not None and role_has_permission(actor.role, ClinicalPermission.VIEW_CLINICAL)

"""Reading patients."""

from __future__ import annotations

import unicodedata

from django.db.models import QuerySet
from django.utils.translation import gettext as _

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


def patient_get(*, patient_id: int | str) -> Patient:
    """One patient, archived or not; ``NOT_FOUND`` when this clinic has no such patient."""
    return get_or_not_found(Patient, patient_id, _("No such patient."))

"""Reading professionals and chairs."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from backend.core.lookups import get_or_not_found
from backend.resources.models import Chair, Professional, TimeOff


def professional_list(*, active_only: bool = False) -> QuerySet[Professional]:
    professionals = Professional.objects.all()
    if active_only:
        professionals = professionals.filter(is_active=True)
    return professionals.order_by("full_name", "id")


def chair_list(*, active_only: bool = False) -> QuerySet[Chair]:
    chairs = Chair.objects.all()
    if active_only:
        chairs = chairs.filter(is_active=True)
    return chairs.order_by("name", "id")


def professional_get(*, professional_id: int | str) -> Professional:
    return get_or_not_found(Professional, professional_id, _("No such professional."))


def chair_get(*, chair_id: int | str) -> Chair:
    return get_or_not_found(Chair, chair_id, _("No such chair."))


def time_off_get(*, time_off_id: int | str) -> TimeOff:
    return get_or_not_found(TimeOff, time_off_id, _("No such time off."))

"""Reading professionals and chairs."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _

from backend.staff.errors import ResourceError
from backend.staff.models import Chair, Professional, TimeOff


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


def _get(model: type[Model], pk: int | str, message: str) -> Model:
    try:
        return model._default_manager.get(pk=int(pk))
    except (model.DoesNotExist, ValueError, TypeError):  # type: ignore[attr-defined]
        raise ValidationError(message, code=ResourceError.NOT_FOUND) from None


def professional_get(*, professional_id: int | str) -> Professional:
    return _get(Professional, professional_id, _("No such professional."))  # type: ignore[return-value]


def chair_get(*, chair_id: int | str) -> Chair:
    return _get(Chair, chair_id, _("No such chair."))  # type: ignore[return-value]


def time_off_get(*, time_off_id: int | str) -> TimeOff:
    return _get(TimeOff, time_off_id, _("No such time off."))  # type: ignore[return-value]

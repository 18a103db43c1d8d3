"""Loading one row by the key a client sent."""

from __future__ import annotations

from typing import TypeVar

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Model, QuerySet

from backend.core.error_codes import CommonError

M = TypeVar("M", bound=Model)


def get_or_not_found(source: type[M] | QuerySet[M], pk: int | str, message: str) -> M:
    """The row with primary key ``pk`` in the current clinic's schema, or a ``NOT_FOUND``
    error: a key of another clinic, of nothing, or not a number at all all look the same."""
    queryset = source if isinstance(source, QuerySet) else source._default_manager.all()
    try:
        return queryset.get(pk=int(pk))
    except (ObjectDoesNotExist, ValueError, TypeError, OverflowError):
        raise ValidationError(message, code=CommonError.NOT_FOUND) from None

"""Building the errors that services raise, in one place for every domain.

- ``field_error(field, message, code)``: a ``ValidationError`` with its code, on ``field``
  (or on the whole input when ``field`` is None). The GraphQL layer turns it into an
  ``OperationInfo`` message with that field and code.
- ``save_refusing(save, refusals)``: a write that a database constraint may refuse (a
  unique number, an overlap that an exclusion constraint forbids). The constraint is
  recognised by its name, ``diag.constraint_name`` of the driver's error, never by searching
  the error's text; each domain maps the names of its constraints to the error the client
  gets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction


def field_error(field: str | None, message: str, code: str) -> ValidationError:
    """``message`` with ``code``, on ``field``, or on the input as a whole if it is None."""
    error = ValidationError(message, code=code)
    return ValidationError({field: error}) if field else error


def constraint_name(error: IntegrityError) -> str | None:
    """The name of the constraint that refused the write, as PostgreSQL reports it (None for
    an error that names none)."""
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


def save_refusing(
    save: Callable[[], object], refusals: Mapping[str, Callable[[], ValidationError]]
) -> None:
    """Run ``save`` in a savepoint. If a constraint named in ``refusals`` refuses it, raise
    the error that ``refusals`` gives for it; any other ``IntegrityError`` is a bug, raised
    as it is."""
    try:
        with transaction.atomic():
            save()
    except IntegrityError as error:
        refusal = refusals.get(constraint_name(error) or "")
        if refusal is None:
            raise
        raise refusal() from None

"""Errors shared by the whole schema.

- Mutations return input and business errors as ``OperationInfo`` (strawberry-django's
  ``handle_django_errors``).
- A query has no such union: a Django ``ValidationError`` raised there (``NOT_FOUND`` for an
  ID this clinic does not have, say) becomes a top-level error whose ``extensions.code`` is
  the error's code, with its (translated) message.
- A transaction that lost a race (deadlock, serialization failure) and was not run again
  is ``CONCURRENT_UPDATE``: nothing was saved, try again. Never a 503.
- Anything unexpected is logged in full with the request id (``error_logging``), and the
  client gets ``INTERNAL_ERROR`` with that id (``DATABASE_UNAVAILABLE`` when the database is
  down); with ``DEBUG`` off the message says nothing more (no stack trace, no SQL).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.relay.types import GlobalIDValueError

from backend.core.transactions import (
    TransactionError,
    conflict_refusal,
    database_unavailable,
    is_transaction_conflict,
)


def _first(error: ValidationError) -> tuple[str, str | None, str | None]:
    """(message, code, field) of the first error inside ``error``."""
    if hasattr(error, "error_dict"):
        field, errors = next(iter(error.error_dict.items()))
        inner = errors[0]
        return inner.messages[0], inner.code, field
    inner = error.error_list[0]
    return inner.messages[0], inner.code, None


class ErrorCodes(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        request = getattr(self.execution_context.context, "request", None)
        request_id = getattr(request, "request_id", None)
        for error in (result.errors if result else None) or []:
            original = error.original_error
            if isinstance(original, ValidationError):
                message, code, field = _first(original)
                error.message = message
                error.extensions = {
                    **(error.extensions or {}),
                    "code": code or "INVALID",
                    **({"field": field} if field else {}),
                }
            elif isinstance(original, GlobalIDValueError):
                error.extensions = {**(error.extensions or {}), "code": "INVALID_ID"}
            elif original is not None and is_transaction_conflict(original):
                error.message = str(conflict_refusal().messages[0])
                error.extensions = {
                    **(error.extensions or {}),
                    "code": TransactionError.CONCURRENT_UPDATE.value,
                    "requestId": request_id,
                }
            elif original is not None and not isinstance(original, GraphQLError):
                database_down = database_unavailable(original)
                if not settings.DEBUG:
                    error.message = (
                        str(_("The database is unavailable; try again in a moment."))
                        if database_down
                        else str(_("Internal error. Quote the request id to support."))
                    )
                error.extensions = {
                    **(error.extensions or {}),
                    "code": "DATABASE_UNAVAILABLE" if database_down else "INTERNAL_ERROR",
                    "requestId": request_id,
                }

"""Errors shared by the whole schema.

Mutations return input and business errors as ``OperationInfo`` (strawberry-django's
``handle_django_errors``). A query has no such union: a Django ``ValidationError`` raised
there (``NOT_FOUND`` for an ID this clinic does not have, say) becomes a top-level error
whose ``extensions.code`` is the error's code, with its (translated) message.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.core.exceptions import ValidationError
from strawberry.extensions import SchemaExtension


def _first(error: ValidationError) -> tuple[str, str | None, str | None]:
    """(message, code, field) of the first error inside ``error``."""
    if hasattr(error, "error_dict"):
        field, errors = next(iter(error.error_dict.items()))
        inner = errors[0]
        return inner.messages[0], inner.code, field
    inner = error.error_list[0]
    return inner.messages[0], inner.code, None


class ValidationErrorCodes(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        for error in (result.errors if result else None) or []:
            if isinstance(error.original_error, ValidationError):
                message, code, field = _first(error.original_error)
                error.message = message
                error.extensions = {
                    **(error.extensions or {}),
                    "code": code or "INVALID",
                    **({"field": field} if field else {}),
                }

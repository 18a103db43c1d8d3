"""Every GraphQL error gets one classification (``classify``): its code, and whether it is
expected. What the client gets and what the log records both follow from it.

- A Django ``ValidationError`` (a business rule, ``NOT_FOUND`` for an ID this clinic does not
  have, ``INVALID_PAGINATION``) is its own code, with its (translated) message and field.
  Mutations return most of them as ``OperationInfo`` instead (strawberry-django's
  ``handle_django_errors``); these are the ones raised by queries.
- A refusal raised as a coded ``GraphQLError`` (``UNAUTHENTICATED``, ``FORBIDDEN``…) keeps
  its code; Django's ``PermissionDenied`` and a service's ``Forbidden`` (a row rule) are
  ``FORBIDDEN``; an ID that does not decode is ``INVALID_ID``.
- A document or variables that graphql-core refused before anything ran (no ``path``) are
  ``GRAPHQL_VALIDATION_FAILED`` unless they carry a code of their own.
- A transaction that lost a race and was not run again is ``CONCURRENT_UPDATE``: nothing was
  saved, try again. Never a 503.
- Anything else is the server's doing: ``DATABASE_UNAVAILABLE`` when the database is down,
  else ``INTERNAL_ERROR``. That includes an error raised while resolving a field (it has a
  ``path``) with no code, such as a value the field's type cannot represent. The log gets the
  full traceback; the client gets the request id and, with ``DEBUG`` off, a message that says
  nothing more (no stack trace, no SQL, no value).

``CodedErrorsSchema.process_errors`` sees every error of every result (parse, validation,
execution) before the response is built: it classifies each once, logs it
(``error_logging``), rewrites it for the client and picks the HTTP status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import strawberry
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from graphql import GraphQLError
from strawberry.relay.types import GlobalIDValueError
from strawberry.types import ExecutionContext

from backend.core.error_codes import SERVER_ERRORS, CommonError, Forbidden
from backend.core.transactions import (
    TransactionError,
    conflict_refusal,
    database_unavailable,
    is_transaction_conflict,
)
from backend.observability import labels, sentry
from graphql_api.core import error_logging


@dataclass(frozen=True)
class Classification:
    code: str
    # The client's doing, or a race it may retry: one log line, and its message is kept.
    expected: bool


def first_error(error: ValidationError) -> tuple[str, str | None, str | None]:
    """(message, code, field) of the first error inside ``error``."""
    if hasattr(error, "error_dict"):
        field, errors = next(iter(error.error_dict.items()))
        inner = errors[0]
        return inner.messages[0], inner.code, field
    inner = error.error_list[0]
    return inner.messages[0], inner.code, None


def _code_extension(error: GraphQLError) -> str | None:
    """The code the error (or the GraphQLError it wraps) was raised with, if any."""
    for source in (error, error.original_error):
        code = (getattr(source, "extensions", None) or {}).get("code")
        if code:
            return str(code)
    return None


def _code(error: GraphQLError) -> str:
    original = error.original_error
    if isinstance(original, ValidationError):
        return first_error(original)[1] or CommonError.INVALID
    if isinstance(original, GlobalIDValueError):
        return CommonError.INVALID_ID
    if isinstance(original, PermissionDenied | Forbidden):
        return CommonError.FORBIDDEN
    if original is not None and is_transaction_conflict(original):
        return TransactionError.CONCURRENT_UPDATE
    if original is not None and database_unavailable(original):
        return CommonError.DATABASE_UNAVAILABLE
    coded = _code_extension(error)
    if coded is not None:
        return coded
    if error.path is None and (
        original is None or isinstance(original, GraphQLError) or error.nodes
    ):
        # graphql-core refused the document or its variables (pointing at the nodes it
        # blames; a scalar's own refusal of a literal is the original error): nothing ran.
        return CommonError.GRAPHQL_VALIDATION_FAILED
    # Raised while resolving a field with no code (a bug of ours, or a value its type cannot
    # represent), or by a hook around the operation.
    return CommonError.INTERNAL_ERROR


def classify(error: GraphQLError) -> Classification:
    """The code of ``error`` and whether it is expected. Deterministic, and the same again
    after ``publish`` has rewritten the error."""
    code = str(_code(error))
    return Classification(code=code, expected=code not in SERVER_ERRORS)


def publish(error: GraphQLError, classification: Classification, request_id: Any) -> None:
    """Rewrite ``error`` (in place) as the client gets it: its code, and for the server's
    errors the request id and, outside DEBUG, a message that says nothing more."""
    original = error.original_error
    extensions = {**(error.extensions or {}), "code": classification.code}
    if isinstance(original, ValidationError):
        message, _own_code, field = first_error(original)
        error.message = message
        if field:
            extensions["field"] = field
    elif isinstance(original, PermissionDenied | Forbidden):
        # Django's exception may carry an internal detail: the client gets our sentence.
        error.message = str(_("Your role does not allow this."))
    elif classification.code == TransactionError.CONCURRENT_UPDATE:
        error.message = str(conflict_refusal().messages[0])
        extensions["requestId"] = request_id
    elif not classification.expected:
        if not settings.DEBUG:
            error.message = (
                str(_("The database is unavailable; try again in a moment."))
                if classification.code == CommonError.DATABASE_UNAVAILABLE
                else str(_("Internal error. Quote the request id to support."))
            )
        extensions["requestId"] = request_id
    error.extensions = extensions


def http_status(errors: list[GraphQLError], classifications: list[Classification]) -> int | None:
    """The HTTP status of a result with these errors; None: 200.

    An outage is 503. An operation that never ran (no error has a ``path``: the document or
    its variables were refused, or a hook failed around it) is 400 when the client's doing,
    500 when ours. Errors raised while running keep 200, with whatever data was resolved."""
    codes = {classification.code for classification in classifications}
    if CommonError.DATABASE_UNAVAILABLE in codes:
        return 503
    if errors and all(error.path is None for error in errors):
        return 400 if all(c.expected for c in classifications) else 500
    return None


def _request(execution_context: ExecutionContext | None) -> Any:
    return getattr(getattr(execution_context, "context", None), "request", None)


class CodedErrorsSchema(strawberry.Schema):
    """strawberry's Schema with our error handling (see the module's docstring).

    strawberry calls ``process_errors`` with every result's errors, before any extension can
    change them and before the response is built; its own logs each one with a traceback,
    which this replaces (``error_logging``)."""

    def process_errors(
        self,
        errors: list[GraphQLError],
        execution_context: ExecutionContext | None = None,
    ) -> None:
        request = _request(execution_context)
        request_id = getattr(request, "request_id", None)
        classifications = [classify(error) for error in errors]
        for error, classification in zip(errors, classifications, strict=True):
            error_logging.log(error, classification, request_id)
            if not classification.expected:
                # Before publish rewrites it: the report scrubs the exception itself.
                sentry.report(error.original_error or error, request)
            publish(error, classification, request_id)
        if request is not None:
            # Counted by code in the request metrics (backend/observability/middleware.py).
            codes = getattr(request, labels.ERROR_CODES_ATTRIBUTE, [])
            codes.extend(c.code for c in classifications)
            setattr(request, labels.ERROR_CODES_ATTRIBUTE, codes)
        status = http_status(errors, classifications)
        # The view's response for this request (strawberry's documented way to set a status).
        response = getattr(getattr(execution_context, "context", None), "response", None)
        if status is not None and response is not None:
            response.status_code = status

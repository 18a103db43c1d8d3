"""What the GraphQL errors write to the log: one line for an expected refusal, the full
traceback for anything unexpected.

strawberry logs every error of a result with its traceback (``BaseSchema.process_errors``
calls ``StrawberryLogger.error(error, exc_info=error.original_error)``, strawberry
0.341 ``strawberry/schema/base.py``), so a client that sends a bad token or a page too large
fills the log with 30-line tracebacks, and the one error that matters is hard to find.
``ClinicSchema.process_errors`` replaces it. It runs before the ``ErrorCodes`` extension
rewrites the errors, so it classifies the original exceptions itself.
"""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from django.core.exceptions import PermissionDenied, ValidationError
from graphql import GraphQLError
from strawberry.relay.types import GlobalIDValueError
from strawberry.types import ExecutionContext

from backend.core.transactions import TransactionError, is_transaction_conflict

logger = logging.getLogger("graphql_api.errors")


def _validation_code(error: ValidationError) -> str:
    inner = (
        next(iter(error.error_dict.values()))[0]
        if hasattr(error, "error_dict")
        else error.error_list[0]
    )
    return str(inner.code or "INVALID")


def refusal_code(error: GraphQLError) -> str | None:
    """The code of an expected refusal (the client's doing, or a race it may retry), or None
    when the error is unexpected and needs its traceback."""
    original = error.original_error
    # The order of ErrorCodes: an invalid GlobalID is both a GraphQLError and an ID error.
    if isinstance(original, ValidationError):  # business rules, NOT_FOUND, page arguments
        return _validation_code(original)
    if isinstance(original, GlobalIDValueError):
        return "INVALID_ID"
    if original is None or isinstance(original, GraphQLError):
        # A document that does not parse or validate, variables of the wrong type, or a
        # refusal raised as a coded GraphQLError (UNAUTHENTICATED, FORBIDDEN…).
        extensions = {**(error.extensions or {}), **(getattr(original, "extensions", None) or {})}
        fallback = "GRAPHQL_VALIDATION_FAILED" if error.path is None else "BAD_REQUEST"
        return str(extensions.get("code") or fallback)
    if isinstance(original, PermissionDenied):
        return "FORBIDDEN"
    if is_transaction_conflict(original):
        return TransactionError.CONCURRENT_UPDATE.value
    return None


def _request_id(execution_context: ExecutionContext | None) -> Any:
    context = getattr(execution_context, "context", None)
    return getattr(getattr(context, "request", None), "request_id", None)


class ClinicSchema(strawberry.Schema):
    def process_errors(
        self,
        errors: list[GraphQLError],
        execution_context: ExecutionContext | None = None,
    ) -> None:
        request_id = _request_id(execution_context)
        for error in errors:
            code = refusal_code(error)
            path = ".".join(str(key) for key in error.path) if error.path else "-"
            if code is None:
                logger.error(
                    "GraphQL error [request %s] at %s: %s",
                    request_id,
                    path,
                    error.message,
                    exc_info=error.original_error,
                )
            elif code == TransactionError.CONCURRENT_UPDATE:
                logger.warning("GraphQL %s [request %s] at %s", code, request_id, path)
            elif error.path is None:
                # The document itself is refused: its message names only what the client sent.
                first_line = (error.message.splitlines() or [""])[0][:200]
                logger.info("GraphQL %s [request %s]: %s", code, request_id, first_line)
            else:
                logger.info("GraphQL %s [request %s] at %s", code, request_id, path)

"""What a GraphQL error writes to the log: one line for an expected refusal, the full
traceback for the server's errors.

strawberry logs every error of a result with its traceback (``BaseSchema.process_errors``),
so a client that sends a bad token or a page too large would fill the log with 30-line
tracebacks, and the one error that matters would be hard to find. ``CodedErrorsSchema``
(``errors.py``) logs through ``log`` instead, with each error's classification, before the
error is rewritten for the client: the log keeps the original message.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from backend.core.transactions import TransactionError

if TYPE_CHECKING:
    from graphql_api.core.errors import Classification

logger = logging.getLogger("graphql_api.errors")


def log(error: GraphQLError, classification: Classification, request_id: Any) -> None:
    """One record for ``error``: its code, the request id and where it happened."""
    code = classification.code
    path = ".".join(str(key) for key in error.path) if error.path else "-"
    if not classification.expected:
        logger.error(
            "GraphQL %s [request %s] at %s: %s",
            code,
            request_id,
            path,
            error.message,
            exc_info=error.original_error or error,
        )
    elif code == TransactionError.CONCURRENT_UPDATE:
        logger.warning("GraphQL %s [request %s] at %s", code, request_id, path)
    elif error.path is None:
        # The document itself is refused: its message names only what the client sent.
        first_line = (error.message.splitlines() or [""])[0][:200]
        logger.info("GraphQL %s [request %s]: %s", code, request_id, first_line)
    else:
        logger.info("GraphQL %s [request %s] at %s", code, request_id, path)

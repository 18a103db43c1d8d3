"""Error codes that no single domain owns: the ones the HTTP layer, the tenant middleware and
the GraphQL error handling answer with. Each domain keeps its own codes in its ``errors.py``
(``PatientError``, ``PlatformError``…); a lost race is ``TransactionError.CONCURRENT_UPDATE``
(``backend/core/transactions.py``)."""

from __future__ import annotations

from enum import StrEnum


class CommonError(StrEnum):
    BAD_REQUEST = "BAD_REQUEST"  # the request cannot be read (HTTP, JSON, a literal refused)
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"  # the document or its variables
    INVALID = "INVALID"  # a ValidationError raised without a code of its own
    INVALID_ID = "INVALID_ID"  # an ID that is no ID of ours
    FORBIDDEN = "FORBIDDEN"  # the role lacks the permission
    INTERNAL_ERROR = "INTERNAL_ERROR"  # a bug of ours: logged in full, masked outside DEBUG
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"  # an outage: 503, try again in a moment


class Forbidden(Exception):
    """The actor may not do this to this row: a row rule of a service refused it (a dentist
    changing another professional's appointment). The API answers it as the declarative
    permission checks answer a role that lacks the permission: a top-level ``FORBIDDEN``,
    "Your role does not allow this.". Not Django's ``PermissionDenied``, which
    strawberry-django's mutations would return as an ``OperationInfo`` payload instead."""


# The server's doing, never the client's: logged with the full traceback, answered with the
# request id, their messages hidden outside DEBUG.
SERVER_ERRORS = frozenset({CommonError.INTERNAL_ERROR, CommonError.DATABASE_UNAVAILABLE})

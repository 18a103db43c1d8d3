"""Error codes that no single domain owns: the ones the HTTP layer, the tenant middleware and
the GraphQL error handling answer with. Each domain keeps its own codes in its ``errors.py``
(``PatientError``, ``PlatformError``…); a lost race is ``TransactionError.CONCURRENT_UPDATE``
(``backend/core/transactions.py``).

A domain that answers a shared code (a row it cannot find: ``NOT_FOUND``) uses the member
here, not a copy in its own enum: a client reads one vocabulary."""

from __future__ import annotations

from enum import StrEnum


class CommonError(StrEnum):
    BAD_REQUEST = "BAD_REQUEST"
    """The request cannot be read: not JSON, a broken body, a GET mutation, or a literal refused
    (NUL, NaN, a number too long). Answered with HTTP 400."""
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
    """The body is over MAX_REQUEST_BYTES. Answered with HTTP 413."""
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    """The document or its variables were refused before anything ran: unknown fields, wrong types,
    or over the size, depth, alias or token limits. HTTP 400."""
    INVALID = "INVALID"
    """A value was refused by a rule that has no code of its own; read the message and `field`."""
    INVALID_ID = "INVALID_ID"
    """An ID argument is not an ID this API minted (it does not decode, or names another type)."""
    INVALID_PAGINATION = "INVALID_PAGINATION"
    """`first`/`last` over the page size (100) or negative, or a cursor this list never gave."""
    REQUIRED = "REQUIRED"
    """A field that must be given was not."""
    NOT_FOUND = "NOT_FOUND"
    """No such row in this clinic (an unknown ID, or another clinic's: they look the same)."""
    UNAUTHENTICATED = "UNAUTHENTICATED"
    """No live token: missing, made up, expired, revoked, of a deactivated user, or issued by
    another clinic. Sign in again."""
    FORBIDDEN = "FORBIDDEN"
    """The role lacks the permission, or a row rule refused it (see docs/permissions.md)."""
    PUBLIC_DOMAIN_ONLY = "PUBLIC_DOMAIN_ONLY"
    """A platform operation was asked on a clinic's domain."""
    TENANT_DOMAIN_ONLY = "TENANT_DOMAIN_ONLY"
    """A clinic operation was asked on the platform's domain."""
    INTERNAL_ERROR = "INTERNAL_ERROR"
    """A bug of ours: logged in full; quote `extensions.requestId` to support."""
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
    """The database is down or unreachable: HTTP 503, try again in a moment."""
    SERVER_BUSY = "SERVER_BUSY"
    """Every request this server process may run at once is running: HTTP 503 with
    `Retry-After` (seconds); nothing ran, so any request may be sent again after it."""
    PERSISTED_DOCUMENT_NOT_FOUND = "PERSISTED_DOCUMENT_NOT_FOUND"
    """A `documentId` that no registered persisted document has (HTTP 400; nothing ran)."""
    PERSISTED_DOCUMENT_REQUIRED = "PERSISTED_DOCUMENT_REQUIRED"
    """This server runs registered documents only (`GRAPHQL_PERSISTED_ONLY`): send the
    document's `documentId` instead of its text (HTTP 400; nothing ran)."""


class Forbidden(Exception):
    """The actor may not do this to this row: a row rule of a service refused it (a dentist
    changing another professional's appointment). The API answers it as the declarative
    permission checks answer a role that lacks the permission: a top-level ``FORBIDDEN``,
    "Your role does not allow this.". Not Django's ``PermissionDenied``, which
    strawberry-django's mutations would return as an ``OperationInfo`` payload instead."""


# The server's doing, never the client's: logged with the full traceback, answered with the
# request id, their messages hidden outside DEBUG.
SERVER_ERRORS = frozenset({CommonError.INTERNAL_ERROR, CommonError.DATABASE_UNAVAILABLE})

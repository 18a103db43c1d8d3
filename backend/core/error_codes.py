"""Error codes that no single domain owns: the ones the HTTP layer, the tenant middleware and
the GraphQL error handling answer with. Each domain keeps its own codes in its ``errors.py``
(``PatientError``, ``PlatformError``…); a lost race is ``TransactionError.CONCURRENT_UPDATE``
(``backend/core/transactions.py``).

A domain that answers a shared code (a row it cannot find: ``NOT_FOUND``) uses the member
here, not a copy in its own enum: a client reads one vocabulary."""

from __future__ import annotations

from enum import StrEnum


class CommonError(StrEnum):
    BAD_REQUEST = "BAD_REQUEST"  # the request cannot be read (HTTP, JSON, a literal refused)
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"  # a body over MAX_REQUEST_BYTES: 413
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"  # the document or its variables
    INVALID = "INVALID"  # a ValidationError raised without a code of its own
    INVALID_ID = "INVALID_ID"  # an ID that is no ID of ours
    INVALID_PAGINATION = "INVALID_PAGINATION"  # first/last/after/before out of bounds
    REQUIRED = "REQUIRED"  # a field that must be given was not
    NOT_FOUND = "NOT_FOUND"  # no such row here (another clinic's looks the same)
    UNAUTHENTICATED = "UNAUTHENTICATED"  # no live token
    FORBIDDEN = "FORBIDDEN"  # the role lacks the permission
    PUBLIC_DOMAIN_ONLY = "PUBLIC_DOMAIN_ONLY"  # a platform field asked on a clinic's domain
    TENANT_DOMAIN_ONLY = "TENANT_DOMAIN_ONLY"  # a clinic field asked on the platform's domain
    INTERNAL_ERROR = "INTERNAL_ERROR"  # a bug of ours: logged in full, masked outside DEBUG
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"  # an outage: 503, try again in a moment
    # Persisted documents (graphql_api/core/persisted_documents.py), both answered with 400:
    PERSISTED_DOCUMENT_NOT_FOUND = "PERSISTED_DOCUMENT_NOT_FOUND"  # a documentId not registered
    PERSISTED_DOCUMENT_REQUIRED = "PERSISTED_DOCUMENT_REQUIRED"  # text sent, persisted-only on


class Forbidden(Exception):
    """The actor may not do this to this row: a row rule of a service refused it (a dentist
    changing another professional's appointment). The API answers it as the declarative
    permission checks answer a role that lacks the permission: a top-level ``FORBIDDEN``,
    "Your role does not allow this.". Not Django's ``PermissionDenied``, which
    strawberry-django's mutations would return as an ``OperationInfo`` payload instead."""


# The server's doing, never the client's: logged with the full traceback, answered with the
# request id, their messages hidden outside DEBUG.
SERVER_ERRORS = frozenset({CommonError.INTERNAL_ERROR, CommonError.DATABASE_UNAVAILABLE})

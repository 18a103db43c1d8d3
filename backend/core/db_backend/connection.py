"""The database connection, typed as the tenant-aware wrapper it is.

django-stubs type ``django.db.connection`` as ``BaseDatabaseWrapper``. The ENGINE
(``backend.core.db_backend``, built on django-tenants' wrapper, which ships no types) adds the
schema the connection is set to and the methods that set it. ``tenant_connection()`` returns the
same connection object, declared with those members, so that their callers are type-checked."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, cast

from django.db import DEFAULT_DB_ALIAS, connections

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    class TenantDatabaseWrapper(BaseDatabaseWrapper):
        """What django-tenants' wrapper and our backend add (a declaration only)."""

        schema_name: str
        tenant: Any

        def set_schema(self, schema_name: str, include_public: bool = True) -> None: ...
        def set_schema_to_public(self) -> None: ...
        def set_tenant(self, tenant: Any, include_public: bool = True) -> None: ...
        def lock_schema_exclusively(self, schema_name: str) -> None: ...
        def forget_transaction_schema(self) -> None: ...
        def schema_qualified(self) -> AbstractContextManager[None]: ...


def tenant_connection(alias: str = DEFAULT_DB_ALIAS) -> TenantDatabaseWrapper:
    """The connection of ``alias`` in this thread (what ``django.db.connection`` is for the
    default alias)."""
    return cast("TenantDatabaseWrapper", connections[alias])

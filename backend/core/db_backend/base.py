"""django-tenants' backend with the schema chosen **inside each transaction**, never for the
session.

django-tenants sends a session-level ``SET search_path`` when the schema changes. Behind a pool
in transaction mode (PgBouncer, RDS Proxy) the server connection changes hands at every
transaction boundary, so that setting outlives the transaction and another client's next
transaction runs in the wrong clinic's schema (django-tenants issues #447, #545, #732, #1112).

Here the path is set with ``set_config('search_path', …, true)``, which PostgreSQL forgets at
the end of the transaction, as the first statement of every transaction and again whenever the
code switches schema inside one. A transaction is therefore correct whatever server connection
it runs on: it carries its own schema. ``statement_timeout`` travels the same way, since a
pool may drop the ``options`` startup parameter.

Nothing ever sets the session's path, so a statement that runs outside a transaction (in
autocommit) sees the server's default path, ``public``: it can never reach a clinic's tables.
Such a statement while a clinic is selected is a bug (``TENANCY_GUARD``): it raises in tests
and in development, and in production it is logged with its stack and run in a transaction of
its own with the clinic's schema.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.backends.postgresql.introspection import (
    DatabaseIntrospection as PostgresIntrospection,
)
from django_tenants.postgresql_backend import base as tenants_base
from django_tenants.utils import get_public_schema_name, quote_schema_name
from psycopg2.extensions import TRANSACTION_STATUS_IDLE

from backend.core.db_backend.pooling import transactions_are_whole

logger = logging.getLogger("backend.tenancy")

# The django-tenants internals this backend overrides or calls (``_handle_search_path``, which
# its ``_cursor`` calls to send the session-level SET; ``_get_cursor_search_paths``) hold for
# these versions, which pyproject.toml pins; tests/tenants_core/test_django_tenants_internals.py
# fails when the installed version leaves the range or when one of them changes.
SUPPORTED_VERSIONS = {"django-tenants": ">=4.0.1,<5"}

# The clinic's schema lock: a transaction that uses a clinic's schema holds it, shared, to its
# end; work that replaces or drops the schema (a restore over the clinic) takes it exclusively,
# first, before any other lock, so that it waits for the transactions in flight and new ones
# wait for it while holding nothing it needs.
SCHEMA_LOCK_NAMESPACE = 0x5C4E  # the first key of the two-key advisory locks, this use only


def select_schema_sql(*, new_transaction: bool, clinic: bool) -> str:
    """One statement: the search_path; at a transaction's start the statement timeout too (not
    when the schema changes later: the transaction may have set its own); in a clinic's
    schema, its schema lock."""
    parts = ["set_config('search_path', %s, true)"]
    if new_transaction:
        parts.append("set_config('statement_timeout', %s, true)")
    if clinic:
        parts.append(f"pg_advisory_xact_lock_shared({SCHEMA_LOCK_NAMESPACE}, hashtext(%s))")
    return "SELECT " + ", ".join(parts)


def _sets_the_transaction(sql: str) -> bool:
    """``SET TRANSACTION …`` must be a transaction's first statement: the schema comes next."""
    return sql[:40].lstrip().upper().startswith("SET TRANSACTION")


_SESSION_PATH = re.compile(r"\s*set\s+(session\s+)?search_path\b", re.IGNORECASE)


def _sets_the_sessions_path(sql: str) -> bool:
    """``SET search_path``: behind a transaction pool it reaches other clients' transactions."""
    return _SESSION_PATH.match(sql[:40]) is not None


class TenancyGuardError(RuntimeError):
    """A statement ran outside a transaction while a clinic's schema was selected."""


class DatabaseIntrospection(PostgresIntrospection):
    """Introspection of the selected schema only, as django-tenants' is, but with the path set
    for the transaction: django-tenants sets it for the session and "restores" it with another
    session-level SET, which turns a transaction's path into the session's for good."""

    connection: DatabaseWrapper

    @contextmanager
    def _selected_schema(self, cursor: Any) -> Iterator[None]:
        connection = self.connection
        with transaction.atomic(using=connection.alias), connection.schema_qualified():
            cursor.execute(
                "SELECT set_config('search_path', %s, true)",
                [quote_schema_name(connection.schema_name)],
            )
            try:
                yield
            finally:
                # The transaction's next statement sets its full path again.
                connection.forget_transaction_schema()

    def get_table_list(self, cursor: Any) -> Any:
        with self._selected_schema(cursor):
            return super().get_table_list(cursor)

    def get_table_description(self, cursor: Any, table_name: str) -> Any:
        with self._selected_schema(cursor):
            return super().get_table_description(cursor, table_name)

    def get_sequences(self, cursor: Any, table_name: str, table_fields: Any = ()) -> Any:
        with self._selected_schema(cursor):
            return super().get_sequences(cursor, table_name, table_fields)

    def get_constraints(self, cursor: Any, table_name: str) -> Any:
        with self._selected_schema(cursor):
            return super().get_constraints(cursor, table_name)


class DatabaseWrapper(tenants_base.DatabaseWrapper):
    # Whether this process has checked that its pool keeps transactions whole (pooling.py).
    _pool_checked = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.introspection = DatabaseIntrospection(self)
        # The search_path this connection's open transaction has set, or None.
        self._transaction_search_path: str | None = None
        self._selecting_schema = False
        self._schema_qualified = 0
        # Outermost, so that the selecting statement is itself seen (counted, logged) by every
        # other wrapper, the way assertNumQueries and the benchmarks count statements.
        self.execute_wrappers.insert(0, self._select_schema_wrapper)

    def init_connection_state(self) -> None:
        super().init_connection_state()
        if not DatabaseWrapper._pool_checked:
            transactions_are_whole(self.connection)
            DatabaseWrapper._pool_checked = True

    # django-tenants' session-level SET is never sent: see the module docstring.
    def _handle_search_path(self, cursor: Any = None) -> None:
        return None

    def close(self) -> None:
        self._transaction_search_path = None
        super().close()

    def rollback(self) -> None:
        self._transaction_search_path = None
        super().rollback()

    def savepoint_rollback(self, sid: str) -> None:
        # ROLLBACK TO SAVEPOINT reverts a set_config issued after the savepoint.
        try:
            super().savepoint_rollback(sid)
        finally:
            self._transaction_search_path = None

    def lock_schema_exclusively(self, schema_name: str) -> None:
        """Wait for every transaction that uses ``schema_name`` to end, and keep new ones out
        until this transaction ends (see ``SCHEMA_LOCK_NAMESPACE``). Take it before any
        other lock: a transaction in the schema may be waiting for one of them."""
        with self.schema_qualified(), self.cursor() as cursor:
            cursor.execute(
                f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_NAMESPACE}, hashtext(%s))",
                [schema_name],
            )

    def forget_transaction_schema(self) -> None:
        """Make the next statement set the schema even if this transaction already did."""
        self._transaction_search_path = None

    def search_path(self) -> str:
        """The path for the selected schema: the clinic's, then public, then extensions."""
        return ",".join(quote_schema_name(name) for name in self._get_cursor_search_paths())

    @contextmanager
    def schema_qualified(self) -> Iterator[None]:
        """For statements that name every table with its schema (host routing): they read the
        same rows whatever the search_path, so they neither set one nor trip the guard."""
        self._schema_qualified += 1
        try:
            yield
        finally:
            self._schema_qualified -= 1

    def _select_schema_wrapper(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        if _sets_the_sessions_path(sql):
            self._guard_refuses(
                f"A session-level search_path outlives its transaction: {sql[:200]}"
            )
        if self._selecting_schema or self._schema_qualified or _sets_the_transaction(sql):
            return execute(sql, params, many, context)
        if self.get_autocommit():
            if self.schema_name != get_public_schema_name():
                return self._outside_transaction(execute, sql, params, many, context)
            return execute(sql, params, many, context)
        self._select_schema(context["cursor"])
        return execute(sql, params, many, context)

    def _select_schema(self, cursor: Any) -> None:
        """Set the transaction's search_path unless this transaction has already set it."""
        new_transaction = self.connection.info.transaction_status == TRANSACTION_STATUS_IDLE
        if new_transaction:
            self._transaction_search_path = None  # this statement opens a new transaction
        path = self.search_path()
        if self._transaction_search_path == path:
            return
        clinic = self.schema_name != get_public_schema_name()
        params = [path]
        if new_transaction:
            params.append(f"{settings.DB_STATEMENT_TIMEOUT_MS}ms")
        if clinic:
            params.append(self.schema_name)
        self._selecting_schema = True
        try:
            cursor.execute(
                select_schema_sql(new_transaction=new_transaction, clinic=clinic), params
            )
        finally:
            self._selecting_schema = False
        self._transaction_search_path = path

    def _guard_refuses(self, message: str) -> None:
        """Raise under ``TENANCY_GUARD=raise``; else log the bug with its stack and go on."""
        if settings.TENANCY_GUARD == "raise":
            raise TenancyGuardError(message)
        logger.error(message, stack_info=True)

    def _outside_transaction(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        message = (
            f"A statement ran outside a transaction while the schema {self.schema_name!r} "
            "was selected: open one with backend.core.tenancy.clinic_context() (or "
            f"transaction.atomic()). Statement: {sql[:200]}"
        )
        self._guard_refuses(message)
        with transaction.atomic(using=self.alias):
            self._select_schema(context["cursor"])
            return execute(sql, params, many, context)

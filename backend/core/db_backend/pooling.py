"""Which connection pools the app runs behind: any that keeps a transaction on one server
connection.

The clinic's schema travels with each transaction (``backend.core.db_backend``), so a direct
connection, PgBouncer in session mode and PgBouncer (or RDS Proxy) in **transaction** mode are
all safe: no clinic's setting outlives its transaction. **Statement** mode hands the server
connection over after every statement and so cannot run a transaction of several statements;
PgBouncer then drops the client. That is refused with a clear message by the first connection
each process opens, whatever the process: uvicorn, WSGI, ``migrate_schemas``, a management
command.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _


def transactions_are_whole(raw_connection: Any) -> None:
    """Open and close a transaction of two statements on a new DB-API connection (in
    autocommit, as Django leaves it after connecting); raise ``ImproperlyConfigured`` when
    the pool cannot run it. Three round trips, once per process."""
    import psycopg2

    try:
        with raw_connection.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT pg_backend_pid()")
            cursor.execute("SELECT pg_backend_pid()")
            cursor.execute("COMMIT")
    except psycopg2.Error as error:
        raise ImproperlyConfigured(
            _(
                "The database connection is pooled in statement mode: it cannot run a "
                "transaction of several statements, and every request is one. Connect "
                "directly to PostgreSQL or through PgBouncer in transaction or session mode "
                "(pool_mode = transaction). The pool answered: %(error)s"
            )
            % {"error": str(error).strip() or type(error).__name__}
        ) from error

"""Start-up check: is the database connection safe for schema-per-clinic tenancy?

django-tenants routes each request to its clinic with ``SET search_path``, a *session* setting,
and sets it only when the schema changes (``TENANT_LIMIT_SET_CALLS``). That is correct when a
client connection owns its PostgreSQL server connection for its whole life: a direct
connection, or PgBouncer in **session** mode. Under PgBouncer's **transaction** or
**statement** mode the server connection goes back to the pool after every transaction (or
statement) and the next one may run on a server connection whose ``search_path`` another
request set: one clinic's query would read another clinic's tables. So the app refuses to
start on such a pool.

The probe needs no access to PgBouncer's admin console: it opens two client connections and
watches whether session state crosses from one to the other.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

# A custom (dotted) setting that nothing else uses: a session-level marker for the probe.
PROBE_SETTING = "dental.pooling_probe"


class PoolingMode(enum.StrEnum):
    """How client connections map to PostgreSQL server connections."""

    SESSION = "session"  # direct, or PgBouncer session mode: one server connection per client
    TRANSACTION = "transaction"  # shared between clients at every transaction boundary
    STATEMENT = "statement"  # shared at every statement; no multi-statement transactions


SUPPORTED_MODES = frozenset({PoolingMode.SESSION})


@dataclass(frozen=True)
class PoolingProbe:
    mode: PoolingMode
    statement_timeout_ms: int  # as the server applies it to this client's sessions


def pooling_probe(params: dict[str, Any]) -> PoolingProbe:
    """Probe the pooling mode behind ``params`` (psycopg2 connection parameters).

    The first client sets a session marker and notes its backend; the second client then
    opens a transaction. With one server connection per client the second never sees the
    first one's backend or marker, and the first keeps both. With a transaction pool the
    first client's idle server connection is free for the second (PgBouncer hands out the
    most recently used one), or else the first client's next statement moves elsewhere.
    """
    import psycopg2

    marker = secrets.token_hex(8)
    first = psycopg2.connect(**params)
    try:
        first.autocommit = True
        with first.cursor() as cursor:
            cursor.execute(
                "SELECT set_config(%s, %s, false), pg_backend_pid(),"
                " (SELECT setting::int FROM pg_settings WHERE name = 'statement_timeout')",
                [PROBE_SETTING, marker],
            )
            _, first_pid, timeout_ms = cursor.fetchone()
        mode = _second_client_mode(params, first, first_pid, marker)
        if mode is PoolingMode.SESSION:
            # Leave nothing behind for whoever gets this server connection next.
            with first.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, '', false)", [PROBE_SETTING])
    finally:
        first.close()
    return PoolingProbe(mode=mode, statement_timeout_ms=timeout_ms)


def _second_client_mode(
    params: dict[str, Any], first: Any, first_pid: int, marker: str
) -> PoolingMode:
    import psycopg2

    second = psycopg2.connect(**params)
    try:
        second.autocommit = False  # psycopg2 opens a transaction before the first statement
        try:
            with second.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_backend_pid(), current_setting(%s, true)", [PROBE_SETTING]
                )
                second_pid, seen = cursor.fetchone()
        except psycopg2.OperationalError:
            # PgBouncer in statement mode drops a client that opens a transaction ("transaction
            # blocks not allowed in statement pooling mode"; psycopg2 only sees the connection
            # close). The same server still answers a lone statement: that is statement mode.
            if _answers_in_autocommit(params):
                return PoolingMode.STATEMENT
            raise
        if second_pid == first_pid or seen:
            # Another client's session state, seen from here: server connections are shared.
            return PoolingMode.TRANSACTION
        # The second client now holds a server connection inside its transaction; the first
        # client must still be on its own one, with its marker.
        with first.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid(), current_setting(%s, true)", [PROBE_SETTING])
            again_pid, again_marker = cursor.fetchone()
        if again_pid != first_pid or again_marker != marker:
            return PoolingMode.TRANSACTION
        second.rollback()
        return PoolingMode.SESSION
    finally:
        second.close()


def _answers_in_autocommit(params: dict[str, Any]) -> bool:
    import psycopg2

    try:
        probe = psycopg2.connect(**params)
    except psycopg2.Error:
        return False
    try:
        probe.autocommit = True
        with probe.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except psycopg2.Error:
        return False
    finally:
        probe.close()


def pooling_check(alias: str = "default") -> PoolingProbe:
    """Refuse to serve unless the database's pooling mode keeps each clinic's ``search_path``
    (and the statement timeout) to itself. Called once at start-up; costs two connections."""
    from django.conf import settings
    from django.db import connections

    connection = connections[alias]
    probe = pooling_probe(connection.get_connection_params())
    if probe.mode not in SUPPORTED_MODES:
        raise ImproperlyConfigured(
            _(
                "The database connection is pooled in %(mode)s mode: server connections are "
                "shared between clients at every %(mode)s, and each clinic's search_path is a "
                "session setting, so one clinic's request could read another clinic's data. "
                "Connect directly to PostgreSQL or through PgBouncer in session mode "
                "(pool_mode = session)."
            )
            % {"mode": probe.mode.value}
        )
    expected = getattr(settings, "DB_STATEMENT_TIMEOUT_MS", None)
    if expected is not None and probe.statement_timeout_ms != expected:
        raise ImproperlyConfigured(
            _(
                "The database applies statement_timeout = %(actual)s ms, not the configured "
                "%(expected)s ms (a pooler such as PgBouncer can drop the connection's "
                "'options'). Set it on the database: ALTER DATABASE \"%(name)s\" SET "
                "statement_timeout = %(expected)s;"
            )
            % {
                "actual": probe.statement_timeout_ms,
                "expected": expected,
                "name": connection.settings_dict["NAME"],
            }
        )
    return probe

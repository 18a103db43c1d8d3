"""One migration run at a time per database: a PostgreSQL advisory lock.

Replicas that start together each run ``migrate_schemas``. Without a lock, two runs on an
empty database race to create ``django_migrations`` (one dies with ``MigrationSchemaMissing``)
and a pending data migration is applied twice. Under this lock the second run waits, then
finds nothing left to do (Django's migration records, the clinics' fingerprints and the
template's say so) and exits 0.

**The key** is ``MIGRATION_LOCK_KEY``, one bigint: the bytes of ``"migrate"``,
``0x6D696772617465``. ``pg_locks`` shows it as ``locktype = 'advisory'``,
``classid = 7170407``, ``objid = 1918989413``, ``objsubid = 1``, in the migrated database
(advisory locks are per database). No other lock of the project uses this key: the clinics'
schema locks are two-key locks, the template's and the throttles' are other numbers.

**How it is held.** A transaction-level lock, taken by a transaction that stays open for the
whole run on a connection of its own, built from the same settings as Django's:
- not on Django's connection, which the run closes before it forks its pool of processes
  (``connections.close_all()``) and which runs the migrations, one transaction each;
- transaction-level, not session-level: PgBouncer (or RDS Proxy) in transaction mode keeps a
  server connection for an open transaction, so the lock holds behind a pool too, and no
  direct database URL is needed. The transaction writes nothing and holds no snapshot between
  statements, so it does not hold back vacuum. A pooler's own idle-in-transaction timeout
  (PgBouncer's ``idle_transaction_timeout``, off by default) must exceed the longest run;
  PostgreSQL's is turned off for this transaction.
If the process dies, PostgreSQL ends its connection and the lock with it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.core.management.base import CommandError
from django.db import connections
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

MIGRATION_LOCK_KEY = int.from_bytes(b"migrate", "big")  # 0x6D696772617465
_CLASSID, _OBJID = MIGRATION_LOCK_KEY >> 32, MIGRATION_LOCK_KEY & 0xFFFFFFFF
DEFAULT_TIMEOUT_SECONDS = 600.0

# Whether this thread's migration run holds the lock: the run's own nested steps (the template
# rebuild calls migrate_schemas again) must not wait for it.
_held_here: ContextVar[bool] = ContextVar("migration_lock_held_here", default=False)

_HOLDERS_SQL = """
SELECT l.pid, l.mode, coalesce(a.application_name, ''), coalesce(host(a.client_addr), '')
FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s
  AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY l.pid
"""


class MigrationLockTimeout(CommandError):
    """Another run kept the lock longer than the caller would wait; nothing was changed. (A
    ``CommandError``: the command prints it and exits 1.)"""


@dataclass(frozen=True)
class Holder:
    """A connection that holds the lock, as ``pg_locks`` and ``pg_stat_activity`` show it."""

    pid: int  # the PostgreSQL backend's pid
    mode: str
    application_name: str  # "dental:<pid>:migrate" for a run: the holding process's pid
    client: str

    def __str__(self) -> str:
        details = ", ".join(part for part in (self.application_name, self.client) if part)
        return f"pid {self.pid}" + (f" ({details})" if details else "")


@contextlib.contextmanager
def migration_lock(
    alias: str = "default",
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    on_wait: Callable[[list[Holder]], None] = lambda holders: None,
) -> Iterator[None]:
    """Hold the migration lock of ``alias``'s database for the block: at once when it is free,
    else after calling ``on_wait`` with its holders and waiting at most ``timeout`` seconds
    (then ``MigrationLockTimeout``). Re-entrant within a thread."""
    if _held_here.get():
        yield
        return
    raw = _lock_connection(alias)
    try:
        _acquire(raw, timeout, on_wait)
        token = _held_here.set(True)
        try:
            yield
        finally:
            _held_here.reset(token)
    finally:
        # Ending the transaction releases the lock; closing ends it in any case. A connection
        # that is gone by now lost the lock somewhere during the run: say so.
        try:
            raw.rollback()
        except Exception as error:
            logger.warning("the migration lock's connection was lost during the run: %s", error)
        with contextlib.suppress(Exception):
            raw.close()


def try_share(cursor: Any) -> bool:
    """For work that must not overlap a migration run in another process (rebuilding the
    template): True when this thread's run holds the lock, or when ``cursor``'s transaction
    now shares it (until that transaction ends); False at once when another run holds it."""
    if _held_here.get():
        return True
    cursor.execute("SELECT pg_try_advisory_xact_lock_shared(%s)", [MIGRATION_LOCK_KEY])
    return bool(cursor.fetchone()[0])


def holders(cursor: Any) -> list[Holder]:
    """Who holds the lock now (empty when nobody does)."""
    cursor.execute(_HOLDERS_SQL, [_CLASSID, _OBJID])
    return [Holder(*row) for row in cursor.fetchall()]


def _lock_connection(alias: str) -> Any:
    """A new DB-API connection with Django's settings for ``alias``, named after this
    process so that a waiting run can say which process holds the lock."""
    wrapper = connections[alias]
    params = dict(wrapper.get_connection_params())
    params["application_name"] = f"dental:{os.getpid()}:migrate"
    raw = wrapper.get_new_connection(params)
    raw.autocommit = False
    return raw


def _acquire(raw: Any, timeout: float, on_wait: Callable[[list[Holder]], None]) -> None:
    import psycopg2

    with raw.cursor() as cursor:
        # The transaction lives as long as the run: no statement or idle timeout may end it.
        cursor.execute(
            "SELECT set_config('statement_timeout', '0', true),"
            " set_config('idle_in_transaction_session_timeout', '0', true),"
            " pg_try_advisory_xact_lock(%s)",
            [MIGRATION_LOCK_KEY],
        )
        if cursor.fetchone()[2]:
            return
        waited_for = holders(cursor)
        on_wait(waited_for)
        started = time.monotonic()
        # lock_timeout bounds the wait; a whole number of milliseconds, at least one.
        cursor.execute(
            "SELECT set_config('lock_timeout', %s, true)", [f"{max(1, round(timeout * 1000))}ms"]
        )
        try:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK_KEY])
        except psycopg2.errors.LockNotAvailable as error:
            raw.rollback()
            with raw.cursor() as again:
                still = holders(again) or waited_for
            raw.rollback()
            raise MigrationLockTimeout(
                _(
                    "Gave up after %(seconds).0f s waiting for the migration lock, held by "
                    "%(holders)s: another migration is still running. Nothing was migrated; "
                    "run it again once that one has finished (or raise --lock-timeout)."
                )
                % {
                    "seconds": time.monotonic() - started,
                    "holders": ", ".join(str(holder) for holder in still),
                }
            ) from error
        cursor.execute("SELECT set_config('lock_timeout', '0', true)")

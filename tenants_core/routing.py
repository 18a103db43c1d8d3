"""Host → clinic routing with no SQL on the hot path.

Each process keeps a bounded LRU map from host name to an immutable snapshot of the public-
schema rows that decide a request's routing: the clinic (every column) and its plan. It holds
nothing from any clinic's schema. Every request gets a fresh ``Clinic`` built from the
snapshot, so no model instance is ever shared between requests or threads.

The map is invalidated three ways:

- in this process, at once and again on commit, by the services that change a clinic, its
  domains or its plan (``invalidate()``);
- in every process, by ``tenants_core_routing_version``: triggers on the clinic, domain and
  plan tables set it from a sequence on any change. A process rereads that one row at most
  every ``TENANT_CACHE_CHECK_SECONDS`` and drops its whole map when the value differs, so
  another process's committed change (a suspension) is seen within that bound;
- the lookup that fills an entry reads the version in the same statement, so an entry is
  never filed under a version older than its data.

The statements run with schema-qualified names, in autocommit before the request's
transaction opens: they read the same rows whatever the search_path, and need none.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django_tenants.utils import get_public_schema_name
from psycopg2 import sql

from backend.core.db_backend.connection import tenant_connection
from tenants_core.models import Clinic, Domain, Plan, RoutingVersion


@dataclass(frozen=True)
class ClinicSnapshot:
    """The routing-relevant public rows of one clinic, as plain immutable values."""

    clinic_fields: tuple[str, ...]
    clinic_values: tuple[Any, ...]
    plan_fields: tuple[str, ...]
    plan_values: tuple[Any, ...]

    def clinic(self) -> Clinic:
        """A new ``Clinic``, as if just loaded, with its plan: for one request only."""
        db = connection.alias
        clinic = Clinic.from_db(db, self.clinic_fields, self.clinic_values)
        clinic.plan = Plan.from_db(db, self.plan_fields, self.plan_values)
        return clinic


class _Unknown:
    """Marker for a host that routes nowhere (negatively cached)."""


UNKNOWN = _Unknown()


def _columns(model: type[models.Model]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    fields = model._meta.concrete_fields
    return tuple(f.attname for f in fields), tuple(str(f.column) for f in fields)


def _table(model: type[models.Model]) -> sql.Identifier:
    return sql.Identifier(get_public_schema_name(), model._meta.db_table)


def _version_sql() -> sql.Composed:
    return sql.SQL("SELECT v.version FROM {} v WHERE v.id = 1").format(_table(RoutingVersion))


def _lookup_sql() -> tuple[sql.Composed, tuple[str, ...], tuple[str, ...]]:
    clinic_fields, clinic_columns = _columns(Clinic)
    plan_fields, plan_columns = _columns(Plan)
    selected = sql.SQL(", ").join(
        [sql.Identifier("c", column) for column in clinic_columns]
        + [sql.Identifier("p", column) for column in plan_columns]
    )
    # One row always: the version, then the clinic and plan columns (NULL for an unknown host).
    statement = sql.SQL(
        "SELECT ({version}), {selected} FROM (SELECT 1) AS one "
        "LEFT JOIN {domain} d ON d.domain = %s "
        "LEFT JOIN {clinic} c ON c.id = d.tenant_id "
        "LEFT JOIN {plan} p ON p.id = c.plan_id"
    ).format(
        version=_version_sql(),
        selected=selected,
        domain=_table(Domain),
        clinic=_table(Clinic),
        plan=_table(Plan),
    )
    return statement, clinic_fields, plan_fields


def _query_public(statement: sql.Composable, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """Run one statement whose names are all schema-qualified: it reads the same rows whatever
    the search_path, so it may run before the request's transaction. Goes through Django's
    cursor, so it is counted and logged like any query."""
    with tenant_connection().schema_qualified(), connection.cursor() as cursor:
        cursor.execute(statement.as_string(cursor.connection), params)
        return cursor.fetchone()


class RoutingCache:
    """A thread-safe, bounded, per-process host → snapshot map checked against the version."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clinics: OrderedDict[str, ClinicSnapshot] = OrderedDict()
        self._unknown: OrderedDict[str, None] = OrderedDict()
        self._version: int | None = None
        self._checked_at = float("-inf")
        # Bumped by every clear: a lookup that started before a clear must not file its
        # (possibly older) result after it.
        self._generation = 0

    def clear(self) -> None:
        with self._lock:
            self._clinics.clear()
            self._unknown.clear()
            self._generation += 1

    def __len__(self) -> int:
        return len(self._clinics) + len(self._unknown)

    def _check_due(self, now: float) -> bool:
        return now - self._checked_at >= settings.TENANT_CACHE_CHECK_SECONDS

    def _adopt_version(self, version: int | None, started: float) -> None:
        """Record a version read from the database (lock held)."""
        if version != self._version:
            self._clinics.clear()
            self._unknown.clear()
            self._generation += 1
            self._version = version
        self._checked_at = max(self._checked_at, started)

    def resolve(self, hostname: str) -> ClinicSnapshot | _Unknown:
        """The snapshot for ``hostname`` (or ``UNKNOWN``): no SQL when cached and the version
        was checked less than ``TENANT_CACHE_CHECK_SECONDS`` ago; one ``SELECT`` of the
        version row when that check is due; one lookup statement (which reads the version
        too) on a miss."""
        now = time.monotonic()
        found, generation = self._cached(hostname)
        if found is None:
            return self._load(hostname, generation, now)
        if not self._check_due(now):
            return found
        row = _query_public(_version_sql(), ())
        with self._lock:
            self._adopt_version(row[0] if row else None, now)
        found, generation = self._cached(hostname)
        if found is None:
            return self._load(hostname, generation, time.monotonic())
        return found

    def _cached(self, hostname: str) -> tuple[ClinicSnapshot | _Unknown | None, int]:
        with self._lock:
            snapshot = self._clinics.get(hostname)
            if snapshot is not None:
                self._clinics.move_to_end(hostname)
                return snapshot, self._generation
            if hostname in self._unknown:
                self._unknown.move_to_end(hostname)
                return UNKNOWN, self._generation
            return None, self._generation

    def _load(self, hostname: str, generation: int, started: float) -> ClinicSnapshot | _Unknown:
        statement, clinic_fields, plan_fields = _lookup_sql()
        row = _query_public(statement, (hostname,))
        assert row is not None  # the statement always returns one row
        version, values = row[0], row[1:]
        clinic_values, plan_values = values[: len(clinic_fields)], values[len(clinic_fields) :]
        found: ClinicSnapshot | _Unknown = UNKNOWN
        if clinic_values[clinic_fields.index(Clinic._meta.pk.attname)] is not None:
            found = ClinicSnapshot(clinic_fields, tuple(clinic_values), plan_fields, plan_values)
        with self._lock:
            if generation != self._generation:
                return found  # invalidated while we read: answer, but do not file it
            self._adopt_version(version, started)
            if version is None:
                return found  # no version row: nothing would ever invalidate the entry
            if isinstance(found, ClinicSnapshot):
                self._store(self._clinics, hostname, found, settings.TENANT_CACHE_SIZE)
            else:
                self._store(self._unknown, hostname, None, settings.TENANT_CACHE_NEGATIVE_SIZE)
        return found

    @staticmethod
    def _store(entries: OrderedDict[str, Any], key: str, value: Any, size: int) -> None:
        if size <= 0:
            return
        entries[key] = value
        entries.move_to_end(key)
        while len(entries) > size:
            entries.popitem(last=False)


cache = RoutingCache()


def resolve(hostname: str) -> ClinicSnapshot | _Unknown:
    return cache.resolve(hostname)


def invalidate() -> None:
    """Forget this process's routing now, and again when the current transaction commits
    (other threads may refill it from the old committed rows in between). Services that
    change a clinic, its domains or its plan call it; other processes notice the change
    through the version row."""
    cache.clear()
    if connection.in_atomic_block:
        transaction.on_commit(cache.clear)

"""Replicas that start together migrate exactly once (issue 20).

Real processes of ``manage.py migrate_schemas`` against a database of their own, created on
the test server for each test and dropped afterwards, failed or not. The lock is
``tenants_core.migration_lock``; without it, two runs on an empty database race to create
Django's tables (one dies with ``MigrationSchemaMissing``, or with "relation already exists")
and record migrations twice.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from backend.db import database_url_for
from devtools import pgbouncer
from tenants_core.migration_lock import MIGRATION_LOCK_KEY
from tenants_core.models import Clinic
from tenants_core.schema_template import (
    TEMPLATE_SCHEMA,
    code_fingerprint,
    template_fingerprint,
    template_refresh,
)
from tests.conftest import ROOT, TEST_PASSWORD, child_env, production_like_env
from tests.pgbouncer_support import pgbouncer_binary

pytestmark = pytest.mark.slow

MIGRATE = [sys.executable, "manage.py", "migrate_schemas", "--noinput"]
WAITING = "Waiting for the migration lock held by pid"
RUN_TIMEOUT = 600  # seconds; a migration of an empty database takes well under a minute


@dataclass(frozen=True)
class Database:
    name: str
    url: str

    def connect(self) -> Any:
        return psycopg2.connect(self.url)


def _server_connection(dbname: str | None = None) -> Any:
    """A connection to the test server (the suite's test database unless ``dbname``), with no
    statement timeout: CREATE and DROP DATABASE wait for a checkpoint."""
    settings_dict = connection.settings_dict
    raw = psycopg2.connect(
        dbname=dbname or settings_dict["NAME"],
        user=settings_dict.get("USER") or None,
        password=settings_dict.get("PASSWORD") or None,
        host=settings_dict.get("HOST") or None,
        port=settings_dict.get("PORT") or None,
        options="-c statement_timeout=0",
    )
    raw.autocommit = True
    return raw


@pytest.fixture
def fresh_database(django_db_blocker: Any) -> Iterator[Database]:
    """An empty database on the test server, dropped afterwards (its connections too)."""
    name = f"migrate_once_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        admin = _server_connection()
        url = database_url_for(connection.settings_dict, name)
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield Database(name, url)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@contextlib.contextmanager
def _lock_held(database_url: str) -> Iterator[int]:
    """Hold the migration lock as a run does (a transaction-level lock in an open
    transaction); yields the holding backend's pid."""
    raw = psycopg2.connect(database_url)
    try:
        with raw.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s), pg_backend_pid()", [MIGRATION_LOCK_KEY]
            )
            yield cursor.fetchone()[1]
    finally:
        raw.rollback()
        raw.close()


@dataclass
class Run:
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def wait(self) -> tuple[int, str, str]:
        returncode = self.process.wait(timeout=RUN_TIMEOUT)
        return returncode, self.stdout.read_text(), self.stderr.read_text()


def _start(command: list[str], env: dict[str, str], logs: Path) -> Run:
    stdout, stderr = logs.with_suffix(".out"), logs.with_suffix(".err")
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err)
    return Run(process, stdout, stderr)


@contextlib.contextmanager
def _stopped_on_failure(runs: list[Run]) -> Iterator[None]:
    """No child outlives a failed test: it would keep the database from being dropped."""
    try:
        yield
    finally:
        for run in runs:
            if run.process.poll() is None:
                run.process.kill()
                run.process.wait()


def _rows(database: Database, sql: str) -> list[tuple[Any, ...]]:
    raw = database.connect()
    try:
        with raw.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        raw.close()


@contextlib.contextmanager
def _database_url(database: Database, through: str, django_db_blocker: Any) -> Iterator[str]:
    """The database's URL, directly or through a PgBouncer in transaction mode that hands
    server connections out in turn (each transaction of a client may land on another one)."""
    if through == "direct":
        yield database.url
        return
    pgbouncer_binary()  # fails, never skips, when PgBouncer is missing
    with django_db_blocker.unblock():
        settings_dict = {**connection.settings_dict, "NAME": database.name}
    with pgbouncer.running_pgbouncer(
        settings_dict, "transaction", pool_size=4, round_robin=True
    ) as pool:
        yield pool.database_url()


@pytest.mark.parametrize("through", ["direct", "transaction pool"])
def test_two_replicas_started_together_migrate_once(
    fresh_database, django_db_blocker, tmp_path, through
):
    """Both exit 0; every migration of the code is recorded once, in the public schema and in
    the template schema; the plans that a data migration inserts exist once each; one run
    waited and named the other process. Behind PgBouncer in transaction mode too: the lock
    is held by an open transaction, which keeps its server connection."""
    runs: list[Run] = []
    with _database_url(fresh_database, through, django_db_blocker) as url:
        with django_db_blocker.unblock():
            env = child_env(DATABASE_URL=url, **production_like_env())
        with _stopped_on_failure(runs):
            runs.extend(_start(MIGRATE, env, tmp_path / f"replica{n}") for n in (1, 2))
            results = [run.wait() for run in runs]
    for returncode, stdout, stderr in results:
        assert returncode == 0, f"{stdout}\n{stderr}"

    duplicates = (
        "SELECT app, name, count(*) FROM {}.django_migrations GROUP BY 1, 2 HAVING count(*) > 1"
    )
    assert _rows(fresh_database, duplicates.format("public")) == []
    assert _rows(fresh_database, duplicates.format(f'"{TEMPLATE_SCHEMA}"')) == []
    recorded = set(_rows(fresh_database, "SELECT app, name FROM public.django_migrations"))
    assert set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations) <= recorded
    # tenants_core 0002 inserts the plans and the platform's own tenant.
    plans = _rows(fresh_database, "SELECT code, count(*) FROM tenants_core_plan GROUP BY 1")
    assert sorted(plans) == [("basic", 1), ("enterprise", 1), ("professional", 1)]
    assert _rows(fresh_database, "SELECT count(*) FROM tenants_core_clinic") == [(1,)]
    (comment,) = _rows(
        fresh_database,
        f"SELECT obj_description('\"{TEMPLATE_SCHEMA}\"'::regnamespace, 'pg_namespace')",
    )
    assert comment == (f"migrations_fingerprint={code_fingerprint()}",)

    waited = [n for n, (_, _, stderr) in enumerate(results) if WAITING in stderr]
    assert len(waited) == 1, [stderr for _, _, stderr in results]
    (waiter,) = waited
    other = runs[1 - waiter].process.pid
    assert f"dental:{other}:migrate" in results[waiter][2]
    assert "took the migration lock after" in results[waiter][1]


def test_a_run_gives_up_when_the_lock_stays_held_and_changes_nothing(
    fresh_database, django_db_blocker, tmp_path
):
    """``--lock-timeout 1`` behind a held lock: a clear error naming the holder, exit code 1,
    and the empty database is still empty."""
    with django_db_blocker.unblock():
        env = child_env(DATABASE_URL=fresh_database.url, **production_like_env())
    runs: list[Run] = []
    with _lock_held(fresh_database.url) as holder, _stopped_on_failure(runs):
        started = time.monotonic()
        runs.append(_start([*MIGRATE, "--lock-timeout", "1"], env, tmp_path / "late"))
        returncode, stdout, stderr = runs[0].wait()
        elapsed = time.monotonic() - started
    assert returncode == 1, f"{stdout}\n{stderr}"
    assert f"{WAITING} {holder}" in stderr
    assert f"Gave up after 1 s waiting for the migration lock, held by pid {holder}" in stderr
    assert elapsed < 60
    tables = "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
    assert _rows(fresh_database, tables) == []
    schemas = "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'"
    assert _rows(fresh_database, schemas) == [("public",)]


def test_a_clinic_is_provisioned_by_migration_while_a_run_holds_the_lock(django_db_blocker):
    """Provisioning migrates the new schema inside its own transaction (here: with the template
    off), through migrate_schemas: that must neither wait for the run (minutes, and a wait
    PostgreSQL could not see through if the run then needed the provisioning's locks) nor
    fail."""
    with django_db_blocker.unblock():
        env = child_env(PROVISION_FROM_TEMPLATE="0")
        url = database_url_for(connection.settings_dict)
    command = [
        sys.executable, "manage.py", "create_clinic", "durante-migracion", "Durante",
        "20600000005", "hola@durante.pe", "--admin-password", TEST_PASSWORD,
    ]  # fmt: skip
    try:
        with _lock_held(url):
            result = subprocess.run(
                command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
            )
        assert result.returncode == 0, result.stderr
        with django_db_blocker.unblock():
            clinic = Clinic.objects.get(subdomain="durante-migracion")
            assert clinic.migrations_fingerprint == code_fingerprint()
    finally:
        with django_db_blocker.unblock():
            for clinic in Clinic.objects.filter(subdomain="durante-migracion"):
                clinic.delete(force_drop=True)


@pytest.mark.django_db
def test_the_template_is_left_to_the_run_that_holds_the_lock():
    """A process that finds the template stale (after provisioning by migration) does not
    rebuild it while another process's run holds the lock: that run rebuilds it when it
    ends, with its own, possibly newer, code."""
    with connection.cursor() as cursor:
        cursor.execute(f"COMMENT ON SCHEMA \"{TEMPLATE_SCHEMA}\" IS 'migrations_fingerprint=old'")
    with _lock_held(database_url_for(connection.settings_dict)):
        assert template_refresh() is False
    assert template_fingerprint() == "old"

"""Connection pooling against a real PgBouncer: which pool modes the app runs behind.

Each transaction carries its clinic's schema (``backend.core.db_backend``), so a direct
connection, session mode and transaction mode are all safe; statement mode cannot run a
transaction of several statements and is refused by the first connection of every process.
The load test through PgBouncer (session, and transaction mode with round robin) lives in
test_isolation_under_load.py.
"""

from __future__ import annotations

import subprocess
import sys

import psycopg2
import pytest
from django.conf import settings
from django.db import connection, transaction

from backend.core.server_command import UvicornLaunch
from devtools.processes import free_port
from tests.conftest import ROOT, child_env, production_like_env, running_uvicorn
from tests.pgbouncer_support import running_pgbouncer

pytestmark = pytest.mark.slow

STATEMENT_MODE = "pooled in statement mode"


def _uvicorn_start(
    django_db_blocker, *, workers: int = 1, **env: str
) -> subprocess.CompletedProcess[str]:
    """Start uvicorn and return once it exits: it must stop by itself (else: TimeoutExpired)."""
    with django_db_blocker.unblock():
        environment = child_env(**env)
    launch = UvicornLaunch(trusted_proxies=(), port=free_port(), workers=workers)
    return subprocess.run(
        launch.command(), cwd=ROOT, env=environment, capture_output=True, text=True, timeout=90
    )


def test_a_transaction_pool_hands_a_session_setting_to_another_client(django_db_blocker):
    """Why nothing in the app sets the session's search_path (django-tenants did): behind a
    transaction pool a session setting made by one client is what the next client runs with.
    A setting made for the transaction (``set_config(…, true)``) is not."""
    with running_pgbouncer(django_db_blocker, "transaction") as pool:
        params = pool.connection_params()
        clinic_request = psycopg2.connect(**params)
        other_request = psycopg2.connect(**params)
        try:
            clinic_request.autocommit = other_request.autocommit = True
            with clinic_request.cursor() as cursor:
                cursor.execute("SET search_path = clinic_clinica1, public")
            with other_request.cursor() as cursor:
                cursor.execute("SHOW search_path")
                leaked = cursor.fetchone()[0]
                cursor.execute("RESET search_path")
            clinic_request.autocommit = False
            with clinic_request.cursor() as cursor:
                cursor.execute("SELECT set_config('search_path', 'clinic_clinica1, public', true)")
            clinic_request.commit()
            with other_request.cursor() as cursor:
                cursor.execute("SHOW search_path")
                kept = cursor.fetchone()[0]
        finally:
            clinic_request.close()
            other_request.close()
    assert leaked == "clinic_clinica1, public"
    assert kept == '"$user", public'


def test_uvicorn_serves_behind_a_round_robin_transaction_pool(django_db_blocker):
    """Transaction mode starts, and two clinics answered in turn through two server
    connections handed out round robin each get their own data."""
    env = production_like_env()
    with running_pgbouncer(django_db_blocker, "transaction", pool_size=2, round_robin=True) as pool:
        env["DATABASE_URL"] = pool.database_url()
        with running_uvicorn(django_db_blocker, env=env) as server:
            answers = [
                server.post(f"{name}.localhost", {"query": "{ currentClinic { subdomain } }"})
                for name in ("clinica1", "clinica2") * 5
            ]
    assert [a.json()["data"]["currentClinic"]["subdomain"] for a in answers] == [
        "clinica1",
        "clinica2",
    ] * 5


@pytest.mark.parametrize("workers", [1, 2])
def test_uvicorn_refuses_to_start_behind_a_statement_pool(django_db_blocker, workers):
    """With several workers (as deployed) every worker refuses, and uvicorn's parent stops
    instead of restarting them."""
    with running_pgbouncer(django_db_blocker, "statement") as pool:
        result = _uvicorn_start(
            django_db_blocker, workers=workers, DATABASE_URL=pool.database_url()
        )
    assert "ImproperlyConfigured" in result.stderr
    assert STATEMENT_MODE in result.stderr
    assert "pool_mode = transaction" in result.stderr
    assert "Application startup complete" not in result.stderr
    if workers == 1:
        assert result.returncode != 0
    else:  # uvicorn exits 0 in this case; it never serves
        assert "failed to start, stopping the parent process" in result.stderr


@pytest.mark.parametrize("command", [["migrate_schemas"], ["check_tenants"]])
def test_management_commands_refuse_a_statement_pool(django_db_blocker, command):
    """Not only the web server: any process's first connection checks the pool."""
    with running_pgbouncer(django_db_blocker, "statement") as pool:
        with django_db_blocker.unblock():
            environment = child_env(DATABASE_URL=pool.database_url())
        result = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT, env=environment, capture_output=True, text=True, timeout=90,
        )  # fmt: skip
    assert result.returncode != 0
    assert STATEMENT_MODE in result.stderr


def test_uvicorn_refuses_persistent_connections_behind_pgbouncer(django_db_blocker):
    """CONN_MAX_AGE stays 0 through PgBouncer too: each ASGI request runs in a thread of its
    own, so a persistent connection is never reused, and in session mode each one would also
    pin a server connection until the pool is exhausted."""
    with running_pgbouncer(django_db_blocker, "session") as pool:
        result = _uvicorn_start(
            django_db_blocker, DATABASE_URL=pool.database_url(), CONN_MAX_AGE="60"
        )
    assert result.returncode != 0
    assert "CONN_MAX_AGE must be 0" in result.stderr


def test_each_transaction_carries_the_statement_timeout_when_the_pool_drops_options(
    django_db_blocker,
):
    """PgBouncer ignores the 'options' that carry statement_timeout; the transaction sets it
    with its schema, so it holds behind any pool. Shown on a connection whose options set no
    timeout at all."""
    options = connection.settings_dict["OPTIONS"]
    saved = options.get("options")
    with django_db_blocker.unblock():
        connection.close()
        options["options"] = "-c statement_timeout=0"
        try:
            with connection.cursor() as cursor:
                cursor.execute("SHOW statement_timeout")
                outside = cursor.fetchone()[0]
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SHOW statement_timeout")
                inside = cursor.fetchone()[0]
        finally:
            options["options"] = saved
            connection.close()
    assert outside == "0"
    assert inside == f"{settings.DB_STATEMENT_TIMEOUT_MS // 1000}s"

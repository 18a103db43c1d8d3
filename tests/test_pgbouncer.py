"""Connection pooling: which pooling modes the app accepts, probed against a real PgBouncer.

Session mode (and a direct connection) keeps each clinic's ``search_path`` on the client's own
server connection; transaction and statement modes hand server connections between clients,
so the app must refuse to start on them. The load test through PgBouncer in session mode lives
in test_isolation_under_load.py.
"""

from __future__ import annotations

import subprocess

import psycopg2
import pytest
from django.conf import settings
from django.db import connection

from backend.core.processes import free_port
from backend.core.server_command import UvicornLaunch
from backend.pooling import PoolingMode, pooling_probe
from tests.conftest import ROOT, child_env
from tests.pgbouncer_support import running_pgbouncer

pytestmark = pytest.mark.slow


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


def test_probe_reports_session_on_a_direct_connection(django_db_blocker):
    with django_db_blocker.unblock():
        probe = pooling_probe(connection.get_connection_params())
    assert probe.mode is PoolingMode.SESSION
    assert probe.statement_timeout_ms == settings.DB_STATEMENT_TIMEOUT_MS


def test_probe_reports_session_through_pgbouncer_in_session_mode(django_db_blocker):
    with running_pgbouncer(django_db_blocker, "session") as pool:
        params = pool.connection_params()
        first = pooling_probe(params)
        second = pooling_probe(params)  # the pool reuses the server connection: still clean
    assert first.mode is PoolingMode.SESSION
    assert second.mode is PoolingMode.SESSION
    # PgBouncer drops the client's 'options'; the database-level timeout takes over.
    assert first.statement_timeout_ms == settings.DB_STATEMENT_TIMEOUT_MS


@pytest.mark.parametrize("pool_mode", ["transaction", "statement"])
def test_probe_reports_a_pool_that_shares_server_connections(django_db_blocker, pool_mode):
    with running_pgbouncer(django_db_blocker, pool_mode) as pool:
        probe = pooling_probe(pool.connection_params())
    assert probe.mode == PoolingMode(pool_mode)


def test_a_transaction_pool_leaks_one_clients_search_path_into_another(django_db_blocker):
    """Why transaction mode is refused: a session setting made by one client (django-tenants'
    search_path) is what the next client's transaction runs with."""
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
                seen = cursor.fetchone()[0]
        finally:
            clinic_request.close()
            other_request.close()
    assert seen == "clinic_clinica1, public"


@pytest.mark.parametrize("pool_mode", ["transaction", "statement"])
def test_uvicorn_refuses_to_start_behind_a_pool_that_shares_server_connections(
    django_db_blocker, pool_mode
):
    with running_pgbouncer(django_db_blocker, pool_mode) as pool:
        result = _uvicorn_start(django_db_blocker, DATABASE_URL=pool.database_url())
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"pooled in {pool_mode} mode" in result.stderr
    assert "PgBouncer in session mode" in result.stderr


def test_uvicorn_with_several_workers_stops_behind_a_transaction_pool(django_db_blocker):
    """As deployed (the Dockerfile runs 2 workers): every worker refuses, and uvicorn's parent
    stops instead of restarting them. (uvicorn exits 0 in this case; it never serves.)"""
    with running_pgbouncer(django_db_blocker, "transaction") as pool:
        result = _uvicorn_start(django_db_blocker, workers=2, DATABASE_URL=pool.database_url())
    assert "pooled in transaction mode" in result.stderr
    assert "failed to start, stopping the parent process" in result.stderr
    assert "Application startup complete" not in result.stderr


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


def test_uvicorn_refuses_a_pool_that_drops_the_statement_timeout(django_db_blocker):
    """PgBouncer 1.18 ignores the 'options' that carry statement_timeout: unless the database
    sets it, queries would run without a timeout. The app refuses to start."""
    with running_pgbouncer(django_db_blocker, "session", database_timeout=False) as pool:
        result = _uvicorn_start(django_db_blocker, DATABASE_URL=pool.database_url())
    assert result.returncode != 0
    expected = settings.DB_STATEMENT_TIMEOUT_MS
    assert f"statement_timeout = 0 ms, not the configured {expected} ms" in result.stderr

"""How much one uvicorn worker takes on, and how it stops (issue 20): each request in flight
holds a database connection, so a worker lets ``WEB_CONCURRENCY_LIMIT`` in and answers the next
one at once with 503 ``SERVER_BUSY`` (JSON, CORS, ``Retry-After``) without touching the
database; uvicorn's own ``--limit-concurrency`` is a backstop above it; SIGTERM lets the
requests in flight finish for ``WEB_GRACEFUL_SHUTDOWN_SECONDS``, then stops anyway.

The slow request is a real one: ``/healthz`` on a clinic's host waits for the clinic's schema
lock (``backend.core.db_backend``), which the test holds exclusively as a restore would."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg2
import pytest
from django.conf import settings
from django.db import connection

from backend.core.db_backend.base import SCHEMA_LOCK_NAMESPACE
from backend.core.server_command import ServerLimits, UvicornLaunch
from devtools.processes import free_port, serving
from tenants_core.models import Clinic
from tests.conftest import (
    ROOT,
    LiveServer,
    child_env,
    production_like_env,
    running_uvicorn,
)
from tests.conftest import tests_database_url as database_url

CLINIC_HOST = "clinica1.localhost"
ORIGIN = "http://clinica1.localhost:3000"  # a front end on another port: cross-origin


def test_uvicorn_gets_the_limits_on_its_command_line():
    limits = ServerLimits(
        requests=7, graceful_shutdown_seconds=11, keep_alive_seconds=3, backlog=64
    )
    args = UvicornLaunch(trusted_proxies=(), port=8000, limits=limits).args()

    def value(flag: str) -> str:
        return args[args.index(flag) + 1]

    assert value("--limit-concurrency") == "28"  # the backstop: 4 × the app's limit
    assert value("--timeout-graceful-shutdown") == "11"
    assert value("--timeout-keep-alive") == "3"
    assert value("--backlog") == "64"


def test_the_limits_come_from_the_environment_with_sound_defaults():
    assert ServerLimits.from_environment({}) == ServerLimits(
        requests=20, graceful_shutdown_seconds=20, keep_alive_seconds=5, backlog=2048
    )
    given = ServerLimits.from_environment(
        {"WEB_CONCURRENCY_LIMIT": "8", "WEB_GRACEFUL_SHUTDOWN_SECONDS": "25",
         "WEB_KEEP_ALIVE_SECONDS": "10", "WEB_BACKLOG": "512"}
    )  # fmt: skip
    assert given == ServerLimits(
        requests=8, graceful_shutdown_seconds=25, keep_alive_seconds=10, backlog=512
    )
    # Less than Docker's stop_grace_period (30 s), after which the container is killed.
    assert ServerLimits().graceful_shutdown_seconds < 30
    for bad in ("0", "-3", "many", "2.5"):
        with pytest.raises(ValueError, match="WEB_CONCURRENCY_LIMIT must be a whole number"):
            ServerLimits.from_environment({"WEB_CONCURRENCY_LIMIT": bad})


def test_a_bad_limit_stops_the_settings():
    env = child_env(WEB_CONCURRENCY_LIMIT="none")
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "WEB_CONCURRENCY_LIMIT must be a whole number above 0" in result.stderr


# --- a real uvicorn ------------------------------------------------------------------------


def _clinic_schema(django_db_blocker: Any) -> str:
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        return str(Clinic.objects.get(subdomain="clinica1").schema_name)


@contextlib.contextmanager
def _schema_locked(schema: str) -> Iterator[Callable[[], int]]:
    """Hold the clinic's schema lock exclusively (as a restore does) until the block ends;
    yields a function that counts the transactions waiting for it."""
    holder = psycopg2.connect(database_url())
    watcher = psycopg2.connect(database_url())
    watcher.autocommit = True
    try:
        with holder.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [SCHEMA_LOCK_NAMESPACE, schema]
            )

        def waiting() -> int:
            with watcher.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND classid = %s AND NOT granted",
                    [SCHEMA_LOCK_NAMESPACE],
                )
                return int(cursor.fetchone()[0])

        yield waiting
    finally:
        holder.rollback()  # releases the lock
        holder.close()
        watcher.close()


def _until(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _server_connections() -> int:
    """Connections of the app's processes (not this test's) to the test database."""
    with psycopg2.connect(database_url()) as watcher, watcher.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name LIKE 'dental:%%' AND application_name <> %s",
            [f"dental:{os.getpid()}"],
        )
        count = int(cursor.fetchone()[0])
    watcher.close()
    return count


@pytest.mark.slow
def test_over_the_limit_a_request_gets_server_busy_and_the_server_recovers(django_db_blocker):
    schema = _clinic_schema(django_db_blocker)
    env = {"WEB_CONCURRENCY_LIMIT": "2", "LOG_FORMAT": "json"}
    with (
        tempfile.TemporaryFile() as log,
        running_uvicorn(django_db_blocker, env=env, output=log) as server,
        concurrent.futures.ThreadPoolExecutor(2) as clients,
    ):
        with _schema_locked(schema) as waiting:
            slow = [
                clients.submit(server.request, "GET", "/healthz", CLINIC_HOST, timeout=30)
                for _ in range(2)
            ]
            _until(lambda: waiting() == 2)  # both in flight, each holding a connection
            busy = server.request("GET", "/healthz", CLINIC_HOST, headers={"Origin": ORIGIN})
            platform = server.request("GET", "/healthz", settings.BASE_DOMAIN)
            connections_meanwhile = _server_connections()
        answers = [future.result() for future in slow]
        recovered = server.request("GET", "/healthz", CLINIC_HOST)
        log.seek(0)
        records = [json.loads(line) for line in log.read().splitlines()]

    assert busy.status_code == 503
    assert busy.headers["content-type"] == "application/json"
    assert busy.headers["retry-after"] == "1"
    assert busy.headers["access-control-allow-origin"] == ORIGIN  # a browser can read it
    assert busy.headers["x-request-id"]
    (error,) = busy.json()["errors"]
    assert error["extensions"]["code"] == "SERVER_BUSY"
    assert error["message"]
    # Whatever the host: the limit is the worker's, not the clinic's.
    assert platform.status_code == 503
    assert platform.json()["errors"][0]["extensions"]["code"] == "SERVER_BUSY"
    # The refused requests never opened a connection: only the two in flight hold one.
    assert connections_meanwhile == 2
    assert [answer.status_code for answer in answers] == [200, 200]
    assert recovered.status_code == 200
    # One warning per refusal (load shedding is the limit working, not an error); no 500.
    refusals = [r for r in records if r["message"].startswith("Server busy")]
    assert [r["level"] for r in refusals] == ["WARNING", "WARNING"]
    assert not [r for r in records if r["level"] == "ERROR"]


@pytest.mark.slow
def test_uvicorns_own_limit_is_a_backstop_above_the_apps(django_db_blocker):
    """uvicorn counts open connections, idle ones too: 4 × 2 of them and it refuses by itself
    (plain text). That the refusal comes from uvicorn shows the flag reached it."""
    env = {"WEB_CONCURRENCY_LIMIT": "2"}
    with running_uvicorn(django_db_blocker, env=env) as server:
        idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(8)]
        try:
            time.sleep(0.2)  # uvicorn has accepted them
            refused = server.request("GET", "/healthz", settings.BASE_DOMAIN)
        finally:
            for sock in idle:
                sock.close()
        _until(lambda: server.request("GET", "/healthz", settings.BASE_DOMAIN).status_code == 200)

    assert refused.status_code == 503
    assert refused.text == "Service Unavailable"


@contextlib.contextmanager
def _served(env: dict[str, str], log: Any) -> Iterator[tuple[subprocess.Popen[bytes], LiveServer]]:
    """``manage.py serve`` as production starts it (DEBUG off), its output in ``log``."""
    server = LiveServer(free_port())
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(server.port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    with serving(
        process,
        lambda: server.request("GET", "/healthz", settings.BASE_DOMAIN).status_code == 200,
        timeout=60,
        what="manage.py serve",
        not_yet=(httpx.TransportError,),
    ):
        yield process, server


@pytest.mark.slow
def test_sigterm_lets_the_request_in_flight_finish(django_db_blocker):
    schema = _clinic_schema(django_db_blocker)
    with django_db_blocker.unblock():
        env = child_env(**production_like_env(), WEB_GRACEFUL_SHUTDOWN_SECONDS="15")
    with (
        tempfile.TemporaryFile() as log,
        _served(env, log) as (process, server),
        concurrent.futures.ThreadPoolExecutor(1) as client,
    ):
        with _schema_locked(schema) as waiting:
            in_flight = client.submit(server.request, "GET", "/healthz", CLINIC_HOST, timeout=30)
            _until(lambda: waiting() == 1)
            process.send_signal(signal.SIGTERM)
            time.sleep(1)
            assert process.poll() is None  # still waiting for the request
            with pytest.raises(httpx.TransportError):  # no longer accepting new ones
                server.request("GET", "/healthz", settings.BASE_DOMAIN, timeout=2)
        answer = in_flight.result()
        stopped = time.monotonic()
        process.wait(timeout=15)
        stop_seconds = time.monotonic() - stopped

        log.seek(0)
        output = log.read().decode()

    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": "ok"}
    # uvicorn finished, then exits by the signal it caught (as Docker expects: 143).
    assert "Finished server process" in output
    assert process.returncode == -signal.SIGTERM
    assert stop_seconds < 5


@pytest.mark.slow
def test_past_the_graceful_timeout_the_server_stops_anyway(django_db_blocker):
    schema = _clinic_schema(django_db_blocker)
    with django_db_blocker.unblock():
        env = child_env(**production_like_env(), WEB_GRACEFUL_SHUTDOWN_SECONDS="2")
    with (
        tempfile.TemporaryFile() as log,
        _served(env, log) as (process, server),
        concurrent.futures.ThreadPoolExecutor(1) as client,
    ):
        with _schema_locked(schema) as waiting:
            in_flight = client.submit(server.request, "GET", "/healthz", CLINIC_HOST, timeout=30)
            _until(lambda: waiting() == 1)
            process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()

            def gave_up() -> bool:
                log.seek(0)
                return b"timeout graceful shutdown exceeded" in log.read()

            _until(gave_up, timeout=10)
            gave_up_after = time.monotonic() - signalled
        # The request's thread ends when its statement does (the lock is gone now).
        process.wait(timeout=15)
        with contextlib.suppress(httpx.HTTPError):
            in_flight.result()

    assert 1.5 < gave_up_after < 6

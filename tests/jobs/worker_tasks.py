"""Tasks for the worker tests only: a worker started with ``--import tests.jobs.worker_tasks``
registers them. Each writes what it saw to a file the test names, since a job has no result a
test could read."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from django.db import connection

from backend.accounts.models import User
from backend.jobs.runtime import app, clinic_task, periodic_clinic_task, platform_task

QUEUE = "test_jobs"


def _append(path: str, record: dict) -> None:
    with Path(path).open("a") as out:
        out.write(json.dumps(record) + "\n")


@clinic_task(name="tests.jobs.record", queue=QUEUE)
def record(*, out: str, email: str) -> None:
    """Write the schema the task runs in and whether ``email`` is one of its users (a row
    that only one clinic has)."""
    _append(
        out,
        {
            "schema": connection.schema_name,
            "tenant": connection.tenant.schema_name,
            "sees_user": User.objects.filter(email=email).exists(),
        },
    )


@app.task(name="tests.jobs.touch", queue=QUEUE)
def touch(*, out: str, label: str) -> None:
    _append(out, {"label": label, "at": time.time()})


@app.task(name="tests.jobs.slow_once", queue=QUEUE)
def slow_once(*, out: str, seconds: float) -> None:
    """The first run sleeps ``seconds`` (long enough to be killed in); later runs finish."""
    first = not Path(out).exists()
    _append(out, {"event": "start", "at": time.time()})
    if first:
        time.sleep(seconds)
    _append(out, {"event": "done", "at": time.time()})


@platform_task(name="tests.jobs.always_fails", queue=QUEUE)
def always_fails(*, out: str) -> None:
    _append(out, {"event": "run", "at": time.time()})
    raise RuntimeError("the provider is down")


@periodic_clinic_task(cron="0 0 1 1 *", name="tests.jobs.census", queue=QUEUE)
def census(*, timestamp: int) -> None:
    """A periodic clinic task: each clinic writes its own file in ``$CENSUS_DIR``."""
    _append(
        str(Path(os.environ["CENSUS_DIR"]) / f"{connection.schema_name}.json"),
        {"schema": connection.schema_name, "timestamp": timestamp},
    )

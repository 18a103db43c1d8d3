"""Periodic work per clinic: one fan-out job reads the public clinic table once and defers one
job per active clinic in one statement; each runs in its own clinic."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.jobs.runtime import app
from tenants_core.models import Clinic, ClinicStatus
from tests.jobs.conftest import run_burst
from tests.jobs.worker_tasks import census


def _active() -> set[tuple[int, str]]:
    connection.set_schema_to_public()
    return set(
        Clinic.objects.filter(status=ClinicStatus.ACTIVE)
        .exclude(schema_name="public")
        .values_list("pk", "schema_name")
    )


@pytest.mark.django_db
def test_the_fan_out_defers_one_job_per_active_clinic_in_one_statement():
    active = _active()
    assert len(active) >= 2  # clinica1, clinica2 (cerrada is suspended)
    with CaptureQueriesContext(connection) as queries:
        deferred = census.fan_out.func(timestamp=1_700_000_000)
    assert deferred == len(active)
    statements = [query["sql"] for query in queries.captured_queries]
    reads = [sql for sql in statements if "tenants_core_clinic" in sql]
    inserts = [sql for sql in statements if "procrastinate_defer_jobs" in sql]
    assert len(reads) == 1, statements
    assert len(inserts) == 1, statements
    # Nothing else but the transaction and schema bookkeeping: no per-clinic statement.
    others = [sql for sql in statements if sql not in reads and sql not in inserts]
    assert len(others) <= 4, others

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT args, lock, queue_name FROM procrastinate_jobs WHERE task_name = %s"
            " AND (args->>'timestamp')::bigint = 1700000000",
            ["tests.jobs.census"],
        )
        rows = cursor.fetchall()
    args = [json.loads(row[0]) if isinstance(row[0], str) else row[0] for row in rows]
    assert {(a["clinic_id"], a["clinic_schema"]) for a in args} == active
    assert len(rows) == len(active)  # exactly one each
    # At most one run at a time per clinic.
    assert {row[1] for row in rows} == {f"tests.jobs.census:{pk}" for pk, _ in active}
    assert "clinic_cerrada" not in {a["clinic_schema"] for a in args}


@pytest.mark.slow
def test_each_clinic_runs_the_periodic_job_in_its_own_schema(committed, worker_env, tmp_path):
    active = _active()
    census.fan_out.defer(timestamp=1_700_000_060)
    result = run_burst(worker_env(CENSUS_DIR=str(tmp_path)))
    assert result.returncode == 0, result.stderr[-4000:]
    files = {path.stem: path.read_text() for path in tmp_path.glob("*.json")}
    assert set(files) == {schema for _, schema in active}
    for schema, text in files.items():
        (line,) = text.splitlines()
        assert json.loads(line) == {"schema": schema, "timestamp": 1_700_000_060}


def test_the_periodic_tasks_are_registered():
    periodic = {task.periodic_id: task for task in app.periodic_registry.periodic_tasks.values()}
    assert periodic["jobs.retry_stalled"].cron == "* * * * *"
    assert periodic["tests.jobs.census"].task.name == "tests.jobs.census.fan_out"

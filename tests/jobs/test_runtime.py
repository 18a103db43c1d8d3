"""The job helpers without a worker: the backoff, the worker's connection, clinic_job's guard."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from procrastinate.jobs import Job

from backend.jobs.runtime import BackoffRetry, clinic_job, retry_strategy
from backend.jobs.worker import WorkerSettings, connection_params
from tests.jobs.worker_tasks import record


def _job(attempts: int) -> Job:
    return Job(id=1, queue="q", lock=None, queueing_lock=None, task_name="t", attempts=attempts)


def test_the_backoff_doubles_and_stops_after_max_attempts():
    strategy = BackoffRetry(max_attempts=5, wait_seconds=10)
    waits = []
    for attempts in range(4):
        before = timezone.now()
        decision = strategy.get_retry_decision(exception=RuntimeError(), job=_job(attempts))
        assert decision is not None
        assert decision.retry_at is not None
        waits.append(round((decision.retry_at - before).total_seconds()))
    assert waits == [10, 20, 40, 80]
    # The fifth run was the last: no more retries, the job stays failed.
    assert strategy.get_retry_decision(exception=RuntimeError(), job=_job(4)) is None


def test_the_strategy_follows_the_settings(settings):
    settings.JOB_MAX_ATTEMPTS = 3
    settings.JOB_RETRY_WAIT_SECONDS = 7
    assert retry_strategy() == BackoffRetry(max_attempts=3, wait_seconds=7)


@pytest.mark.django_db
def test_the_workers_psycopg3_connection_takes_djangos_parameters():
    params = connection_params()
    with psycopg.connect(**params) as conn:
        row = conn.execute(
            "SELECT current_database(), current_setting('statement_timeout'),"
            " current_setting('application_name')"
        ).fetchone()
    assert row is not None
    database, timeout, application = row
    assert database == connection.settings_dict["NAME"]
    assert timeout == f"{settings.DB_STATEMENT_TIMEOUT_MS // 1000}s"
    assert application.startswith("dental-worker:")


def test_the_worker_settings_come_from_the_environment(settings):
    settings.JOB_CONCURRENCY = 3
    settings.JOB_LISTEN_NOTIFY = False
    settings.JOB_POLL_SECONDS = 2.5
    settings.JOB_STALLED_SECONDS = 40
    options = WorkerSettings.from_settings(queues=["a"], burst=True)
    assert (options.concurrency, options.listen_notify, options.poll_seconds) == (3, False, 2.5)
    assert (options.queues, options.burst, options.stalled_seconds) == (["a"], True, 40)
    # Several heartbeats within the stalled timeout.
    assert options.heartbeat_seconds == 10
    assert WorkerSettings.from_settings(stalled_seconds=2).heartbeat_seconds == 0.5


@pytest.mark.django_db
def test_clinic_job_outside_a_clinic_refuses():
    connection.set_schema_to_public()
    with pytest.raises(RuntimeError, match="needs a clinic"):
        clinic_job(record, out="/dev/null", email="x@y.pe")


def test_schedule_arguments_reach_the_job(db, clinic1):
    from backend.core.tenancy import clinic_context

    at = timezone.now() + dt.timedelta(hours=2)
    with clinic_context(clinic1):
        job_id = clinic_job(record, schedule_at=at, out="/dev/null", email="x@y.pe")
        with connection.cursor() as cursor:
            cursor.execute("SELECT scheduled_at FROM procrastinate_jobs WHERE id = %s", [job_id])
            (scheduled,) = cursor.fetchone()
    assert abs((scheduled - at).total_seconds()) < 1

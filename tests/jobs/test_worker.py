"""``manage.py worker``, as a real process on the test database: the outbox, the clinic
binding, retries with backoff, a killed worker's job run again, a graceful stop."""

from __future__ import annotations

import itertools
import signal
import time

import pytest
from django.db import connection, transaction

from backend.core.tenancy import clinic_context
from backend.jobs.runtime import clinic_job, job
from backend.jobs.tasks import retry_stalled_jobs
from tenants_core.models import Clinic
from tests.jobs.conftest import job_events, job_row, records, run_burst, wait_for
from tests.jobs.worker_tasks import QUEUE, always_fails, record, slow_once

pytestmark = pytest.mark.slow


def _clinic(subdomain: str) -> Clinic:
    connection.set_schema_to_public()
    return Clinic.objects.select_related("plan").get(subdomain=subdomain)


def test_the_outbox_and_the_clinic_binding(committed, worker_env, tmp_path):
    clinic1, clinic2, closed = _clinic("clinica1"), _clinic("clinica2"), _clinic("cerrada")
    out = {name: tmp_path / f"{name}.jsonl" for name in ("c1", "c2", "rolled", "closed", "gone")}

    with clinic_context(clinic1):
        committed_id = clinic_job(record, out=str(out["c1"]), email="admin@clinica1.pe")
    with clinic_context(clinic2):
        other_id = clinic_job(record, out=str(out["c2"]), email="admin@clinica1.pe")
    deferred: list[int] = []

    def defer_then_fail() -> None:
        with clinic_context(clinic1):
            deferred.append(clinic_job(record, out=str(out["rolled"]), email="x@y.pe"))
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError, match="rolled back"):
        defer_then_fail()
    (rolled_id,) = deferred
    closed_id = clinic_job(record, clinic=closed, out=str(out["closed"]), email="x@y.pe")
    # A clinic deleted after its job was deferred: the job names an id and schema now gone.
    gone_id = record.configure().defer(
        clinic_id=987654, clinic_schema="borrada", out=str(out["gone"]), email="x@y.pe"
    )

    # The job of the rolled-back transaction never existed.
    assert job_row(rolled_id) == {}
    # The job carries its clinic: id and schema.
    args = job_row(committed_id)["args"]
    assert (args["clinic_id"], args["clinic_schema"]) == (clinic1.pk, clinic1.schema_name)

    result = run_burst(worker_env())
    assert result.returncode == 0, result.stderr[-4000:]
    log = result.stdout + result.stderr

    # Each ran in its own clinic's schema, and saw only that clinic's rows.
    assert records(out["c1"]) == [
        {"schema": clinic1.schema_name, "tenant": clinic1.schema_name, "sees_user": True}
    ]
    assert records(out["c2"]) == [
        {"schema": clinic2.schema_name, "tenant": clinic2.schema_name, "sees_user": False}
    ]
    assert not out["rolled"].exists()
    # A suspended clinic's job and a deleted clinic's job do nothing, and say so.
    assert not out["closed"].exists()
    assert not out["gone"].exists()
    assert f"clinic {closed.schema_name} is suspended" in log, log[-4000:]
    assert "clinic 987654 (borrada) no longer exists" in log, log[-4000:]
    for job_id in (committed_id, other_id, closed_id, gone_id):
        assert job_row(job_id)["status"] == "succeeded"


def test_a_job_deferred_inside_a_transaction_is_invisible_until_it_commits(committed):
    clinic1 = _clinic("clinica1")
    with clinic_context(clinic1):
        job_id = clinic_job(record, out="/dev/null", email="x@y.pe")
        # Another connection (a worker's) cannot see it yet.
        import psycopg

        from backend.jobs.worker import connection_params

        with psycopg.connect(**connection_params()) as other:
            seen = other.execute("SELECT count(*) FROM procrastinate_jobs WHERE id = %s", [job_id])
            assert seen.fetchone() == (0,)
    with psycopg.connect(**connection_params()) as other:
        seen = other.execute("SELECT status FROM procrastinate_jobs WHERE id = %s", [job_id])
        assert seen.fetchone() == ("todo",)


def test_retries_back_off_exponentially_and_a_permanent_failure_stays_visible(
    worker_env, start_worker, tmp_path
):
    out = tmp_path / "fails.jsonl"
    with transaction.atomic():
        job_id = job(always_fails, out=str(out))
    worker = start_worker(env=worker_env(JOB_MAX_ATTEMPTS="4", JOB_RETRY_WAIT_SECONDS="2"))

    wait_for(
        lambda: job_row(job_id)["status"] == "failed", 60, "the job to fail for good", worker.log
    )
    runs = [entry["at"] for entry in records(out)]
    assert len(runs) == 4  # JOB_MAX_ATTEMPTS runs in all, then no more
    gaps = [later - earlier for earlier, later in itertools.pairwise(runs)]
    # Waits of 2, 4, 8 seconds (plus a poll interval and the run itself, on a busy machine).
    for gap, wait in zip(gaps, (2, 4, 8), strict=True):
        assert wait <= gap < wait + 2, gaps
    assert gaps[0] < gaps[1] < gaps[2]

    # The failure is kept, with its history: never deleted.
    row = job_row(job_id)
    assert row["status"] == "failed"
    assert row["attempts"] == 4
    kinds = [kind for kind, _ in job_events(job_id)]
    assert kinds.count("started") == 4
    assert kinds.count("deferred_for_retry") == 3
    assert kinds[-1] == "failed"
    # Each retry was scheduled later than the one before, by a growing wait.
    retried_at = [at for kind, at in job_events(job_id) if kind == "deferred_for_retry"]
    assert len(retried_at) == 3
    time.sleep(1.5)
    assert job_row(job_id)["status"] == "failed"  # not retried again, not dropped
    assert len(records(out)) == 4


def test_a_killed_workers_job_runs_again(worker_env, start_worker, tmp_path):
    """SIGKILL a worker mid-job: once its heartbeat is older than JOB_STALLED_SECONDS, the
    stalled-job task (periodic in production; deferred here) runs the job again."""
    out = tmp_path / "slow.jsonl"
    job_id = job(slow_once, out=str(out), seconds=600)
    first = start_worker(env=worker_env(), name="first")
    wait_for(lambda: records(out), 60, "the job to start", first.log)
    assert job_row(job_id)["status"] == "doing"
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=10)
    killed_at = time.monotonic()
    assert job_row(job_id)["status"] == "doing"  # nobody finishes it

    second = start_worker(env=worker_env(JOB_STALLED_SECONDS="2"), name="second")
    # Its last heartbeat is now older than 2 s (the second worker's JOB_STALLED_SECONDS).
    wait_for(lambda: time.monotonic() - killed_at > 3, 15, "the heartbeat to age")
    # The periodic stalled-job retry, on the tests' queue so this worker runs it.
    retry_stalled_jobs.configure(queue=QUEUE, queueing_lock=f"{QUEUE}.retry_stalled").defer(
        timestamp=int(time.time())
    )
    wait_for(
        lambda: job_row(job_id)["status"] == "succeeded", 60, "the job to run again", second.log
    )
    events = [entry["event"] for entry in records(out)]
    assert events == ["start", "start", "done"]  # ran twice: at least once
    assert f"Job {job_id} (tests.jobs.slow_once) stalled; retrying it." in second.log()


def test_sigterm_lets_the_job_in_progress_finish(worker_env, start_worker, tmp_path):
    out = tmp_path / "graceful.jsonl"
    job_id = job(slow_once, out=str(out), seconds=2)
    worker = start_worker(env=worker_env())
    wait_for(lambda: records(out), 60, "the job to start", worker.log)
    worker.process.send_signal(signal.SIGTERM)
    assert worker.process.wait(timeout=30) == 0, worker.log()[-4000:]
    assert [entry["event"] for entry in records(out)] == ["start", "done"]
    assert job_row(job_id)["status"] == "succeeded"
    assert "stopping after the jobs in progress" in worker.log()


def test_listen_notify_wakes_the_worker_and_polling_alone_also_works(
    worker_env, start_worker, tmp_path
):
    """With LISTEN/NOTIFY a deferred job starts long before the next poll (30 s off); with
    JOB_LISTEN_NOTIFY=0 (the PgBouncer setting) the worker finds it by polling (every 2 s)."""
    from tests.jobs.worker_tasks import touch

    delays = {}
    for listen, poll in (("1", "30"), ("0", "2")):
        out = tmp_path / f"touch-{listen}.jsonl"
        worker = start_worker(
            env=worker_env(JOB_LISTEN_NOTIFY=listen, JOB_POLL_SECONDS=poll), name=f"listen{listen}"
        )
        wait_for(lambda w=worker: "Starting worker on" in w.log(), 60, "the worker", worker.log)
        time.sleep(1.5)  # past its first look at the queue, its listener set up
        deferred = time.time()
        job(touch, out=str(out), label=listen)
        wait_for(lambda out=out: records(out), 40, "the job", worker.log)
        delays[listen] = records(out)[0]["at"] - deferred
        worker.process.terminate()
        assert worker.process.wait(timeout=30) == 0
    assert delays["1"] < 5, delays  # woken, not polled: the next poll was 28 s away
    assert delays["0"] < 2 + 2.5, delays

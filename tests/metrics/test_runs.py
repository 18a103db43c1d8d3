"""Rollup runs: a run that crashed resumes after its cursor and does only the rest; the
periodic job is registered hourly with its locks; ``manage.py metrics_rollup``."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from backend.jobs.runtime import app
from backend.metrics.models import ClinicDayMetrics, MetricsRollupRun
from backend.metrics.rollup import due_days, rollup_due, rollup_run
from backend.metrics.tasks import ROLLUP_TASK
from tenants_core.models import Clinic

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 5, 6)


class Crash(Exception):
    pass


@pytest.fixture(autouse=True)
def _clinics_existed_on_the_days_rolled_up():
    """The shared clinics were made today; a day before a clinic existed has no row. Inside
    the test's transaction, rolled back."""
    Clinic.objects.update(created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))


def _seeded() -> list[Clinic]:
    connection.set_schema_to_public()
    return list(
        Clinic.objects.filter(subdomain__in=["clinica1", "clinica2", "cerrada"]).order_by("pk")
    )


def test_a_crashed_run_resumes_after_its_cursor_and_does_only_the_rest():
    clinics = _seeded()
    assert len(clinics) == 3
    seen: list[int] = []

    def crash_after_the_first(clinic: Clinic) -> None:
        seen.append(clinic.pk)
        raise Crash  # between two clinics: the first one's row and cursor are committed

    with pytest.raises(Crash):
        rollup_run(day=DAY, clinics=clinics, after_clinic=crash_after_the_first)
    run = MetricsRollupRun.objects.get(day=DAY, finished_at__isnull=True)
    assert (run.cursor, run.clinics_done, run.clinics_total) == (clinics[0].pk, 1, 3)
    assert list(ClinicDayMetrics.objects.filter(day=DAY).values_list("clinic_id", flat=True)) == [
        clinics[0].pk
    ]
    result = rollup_run(day=DAY, clinics=clinics)
    assert result.resumed
    assert result.run.pk == run.pk
    assert result.clinic_ids == [clinics[1].pk, clinics[2].pk]  # not the first again
    assert result.run.finished_at is not None
    assert result.run.clinics_done == 3
    rows = ClinicDayMetrics.objects.filter(day=DAY).order_by("clinic_id")
    assert [row.clinic_id for row in rows] == [clinic.pk for clinic in clinics]
    assert {row.status for row in rows} == {"active", "suspended"}  # suspended ones too


def test_restart_abandons_the_unfinished_run_and_does_every_clinic():
    clinics = _seeded()

    def crash(clinic: Clinic) -> None:
        raise Crash

    with pytest.raises(Crash):
        rollup_run(day=DAY, clinics=clinics, after_clinic=crash)
    result = rollup_run(day=DAY, clinics=clinics, restart=True)
    assert not result.resumed
    assert result.clinic_ids == [clinic.pk for clinic in clinics]
    assert MetricsRollupRun.objects.filter(day=DAY, abandoned=True).count() == 1


def test_a_finished_run_is_not_resumed_but_run_again():
    clinics = _seeded()
    first = rollup_run(day=DAY, clinics=clinics)
    second = rollup_run(day=DAY, clinics=clinics)
    assert not second.resumed
    assert second.run.pk != first.run.pk
    assert second.clinic_ids == first.clinic_ids
    assert ClinicDayMetrics.objects.filter(day=DAY).count() == 3


def test_a_local_day_that_has_not_begun_is_skipped():
    result = rollup_run(
        day=dt.datetime.now(dt.UTC).date() + dt.timedelta(days=3), clinics=_seeded()
    )
    assert result.clinic_ids == []
    assert result.skipped_not_started == 3


def test_the_hourly_job_is_registered_with_its_locks():
    periodic = {task.periodic_id: task for task in app.periodic_registry.periodic_tasks.values()}
    assert periodic[ROLLUP_TASK].cron == "7 * * * *"
    task = app.tasks[ROLLUP_TASK]
    assert task.queueing_lock == ROLLUP_TASK
    assert task.lock == ROLLUP_TASK


def test_due_days_are_each_timezone_s_today_and_yesterday():
    now = dt.datetime(2024, 5, 7, 3, 0, tzinfo=dt.UTC)  # 22:00 on the 6th in Lima
    assert due_days(now) == [dt.date(2024, 5, 5), dt.date(2024, 5, 6)]


def test_the_command_rolls_up_the_days_asked(capsys):
    call_command("metrics_rollup", "--day", "2024-05-06", "--days", "2")
    out = capsys.readouterr().out
    assert "2024-05-05:" in out
    assert "2024-05-06:" in out
    for day in (dt.date(2024, 5, 5), dt.date(2024, 5, 6)):
        assert ClinicDayMetrics.objects.filter(day=day, clinic__subdomain="clinica1").exists()


def test_a_clinic_that_fails_is_recorded_and_the_clinics_after_it_are_still_done(monkeypatch):
    """One clinic's failure (here: its schema is gone) never stops the others, this hour or
    the next: it is logged, recorded on the run, and the day's next run tries it again."""
    from backend.metrics import rollup

    clinics = _seeded()
    upsert = rollup._upsert
    # The first clinic's statement reads a schema that does not exist.
    monkeypatch.setattr(
        rollup,
        "_upsert",
        lambda schema: upsert("zz_metrics_missing" if schema == clinics[0].schema_name else schema),
    )

    result = rollup_run(day=DAY, clinics=clinics)

    assert result.failed == [clinics[0].pk]
    assert result.clinic_ids == [clinics[1].pk, clinics[2].pk]
    run = result.run
    assert run.finished_at is not None
    assert (run.clinics_failed, run.clinics_done, run.cursor) == (1, 2, clinics[2].pk)
    assert run.failures == [
        {"clinic_id": clinics[0].pk, "schema": clinics[0].schema_name, "error": "ProgrammingError"}
    ]
    rows = ClinicDayMetrics.objects.filter(day=DAY)
    assert set(rows.values_list("clinic_id", flat=True)) == {clinics[1].pk, clinics[2].pk}
    # Mended, the day's next run does it.
    monkeypatch.setattr(rollup, "_upsert", upsert)
    assert rollup_run(day=DAY, clinics=clinics).failed == []
    assert ClinicDayMetrics.objects.filter(day=DAY).count() == 3


def test_a_day_before_the_clinic_existed_has_no_row():
    clinics = _seeded()
    Clinic.objects.filter(pk=clinics[0].pk).update(
        created_at=dt.datetime(2024, 5, 7, 6, 0, tzinfo=dt.UTC)  # the 7th, 01:00 in Lima
    )
    result = rollup_run(day=DAY, clinics=clinics)
    assert result.clinic_ids == [clinics[1].pk, clinics[2].pk]
    assert result.skipped_not_started == 1
    assert not ClinicDayMetrics.objects.filter(day=DAY, clinic_id=clinics[0].pk).exists()
    # Its first day is rolled up.
    assert rollup_run(day=DAY + dt.timedelta(days=1), clinics=clinics[:1]).clinic_ids == [
        clinics[0].pk
    ]


def test_the_hourly_job_catches_up_the_days_of_the_last_week_no_run_finished():
    """The worker was down: the job rolls up today and yesterday, and the days of the last
    week without a finished run, resuming an unfinished one; finished days are not redone."""
    now = dt.datetime(2024, 5, 7, 3, 0, tzinfo=dt.UTC)  # the 6th, 22:00 in Lima
    clinics = _seeded()
    rollup_run(day=dt.date(2024, 5, 2), clinics=clinics)  # finished

    def crash(clinic: Clinic) -> None:
        raise Crash

    with pytest.raises(Crash):
        rollup_run(day=dt.date(2024, 5, 1), clinics=clinics, after_clinic=crash)
    results = rollup_due(now)
    days = [result.run.day for result in results]
    assert days == [dt.date(2024, 4, 30), dt.date(2024, 5, 1), *[
        dt.date(2024, 5, n) for n in (3, 4, 5, 6)
    ]]  # fmt: skip
    resumed = {result.run.day: result.resumed for result in results}
    assert resumed[dt.date(2024, 5, 1)] is True
    assert resumed[dt.date(2024, 5, 6)] is False


def test_two_rollups_of_a_day_started_at_once_share_one_run(monkeypatch):
    """The hourly job and the command: the second to open the day's run meets the one-open-run
    constraint and takes the first's (no IntegrityError)."""
    from backend.metrics import rollup

    clinics = _seeded()
    original = rollup._open_run_once
    calls: list[bool] = []

    def racing(day: dt.date, total: int, *, restart: bool):
        if not calls:
            calls.append(True)
            # Another process opens the day's run between our read and our insert.
            MetricsRollupRun.objects.create(day=day, started_at=timezone.now())
            with transaction.atomic():
                MetricsRollupRun.objects.create(day=day, started_at=timezone.now())
        return original(day, total, restart=restart)

    monkeypatch.setattr(rollup, "_open_run_once", racing)
    result = rollup_run(day=DAY, clinics=clinics)

    assert result.resumed
    assert MetricsRollupRun.objects.filter(day=DAY).count() == 1
    assert result.run.finished_at is not None
    assert result.clinic_ids == [clinic.pk for clinic in clinics]

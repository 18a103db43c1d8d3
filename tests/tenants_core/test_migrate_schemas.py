"""``migrate_schemas`` skips clinics whose fingerprint is current and migrates the rest.

A clinic's ``django_migrations`` row for a public-only app (``tenants_core``) is what these
tests delete: migrating the clinic records it again without touching any table, so whether
the row came back tells whether the command migrated that clinic."""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants_core.management.commands import migrate_schemas
from tenants_core.models import Clinic, Plan
from tenants_core.schema_template import TEMPLATE_SCHEMA, code_fingerprint, template_fingerprint


def _latest_public_only_migration() -> tuple[str, str]:
    from django.db.migrations.loader import MigrationLoader

    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    (leaf,) = [node for node in graph.leaf_nodes() if node[0] == "tenants_core"]
    return leaf


MARKER = _latest_public_only_migration()


def _forget_marker(schema: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{schema}".django_migrations WHERE app = %s AND name = %s', MARKER
        )
        assert cursor.rowcount == 1


def _has_marker(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT 1 FROM "{schema}".django_migrations WHERE app = %s AND name = %s', MARKER
        )
        return cursor.fetchone() is not None


def _migrate(*args: str, **options: Any) -> str:
    out = io.StringIO()
    call_command("migrate_schemas", *args, interactive=False, stdout=out, **options)
    connection.set_schema_to_public()
    return out.getvalue()


def _fingerprint(clinic: Clinic) -> str:
    return Clinic.objects.get(pk=clinic.pk).migrations_fingerprint


@pytest.mark.django_db
def test_every_seeded_clinic_records_the_code_fingerprint():
    fingerprints = set(
        Clinic.objects.exclude(schema_name="public").values_list(
            "migrations_fingerprint", flat=True
        )
    )
    assert fingerprints == {code_fingerprint()}
    assert len(code_fingerprint()) == 64


@pytest.mark.django_db
def test_current_clinics_are_skipped(clinic1, clinic2):
    _forget_marker(clinic1.schema_name)
    output = _migrate()  # public and clinics, as a deployment runs it
    assert not _has_marker(clinic1.schema_name)  # not migrated: its fingerprint is current
    current = Clinic.objects.filter(migrations_fingerprint=code_fingerprint()).count()
    assert f"skipped {current} current clinics" in output
    assert "clinics migrated" not in output
    assert _fingerprint(clinic1) == code_fingerprint()


@pytest.mark.django_db
def test_stale_clinics_are_migrated_and_their_fingerprint_recorded(clinic1, clinic2):
    _forget_marker(clinic1.schema_name)
    _forget_marker(clinic2.schema_name)
    Clinic.objects.filter(pk=clinic2.pk).update(migrations_fingerprint="")
    output = _migrate("--tenant")
    assert _has_marker(clinic2.schema_name)  # stale: migrated, the row is back
    assert not _has_marker(clinic1.schema_name)  # current: skipped
    assert _fingerprint(clinic2) == code_fingerprint()
    assert "clinics migrated: 1/1" in output
    current = Clinic.objects.exclude(schema_name="public").count() - 1
    assert f"skipped {current} current clinics" in output


@pytest.mark.django_db
def test_force_migrates_current_clinics_too(clinic1):
    _forget_marker(clinic1.schema_name)
    Clinic.objects.exclude(pk=clinic1.pk).update(migrations_fingerprint=code_fingerprint())
    _migrate("--tenant", "--schema", clinic1.schema_name)
    assert _has_marker(clinic1.schema_name)
    _forget_marker(clinic1.schema_name)
    output = _migrate("--tenant", "--force", "--jobs", "1")
    assert _has_marker(clinic1.schema_name)
    total = Clinic.objects.exclude(schema_name="public").count()
    assert f"clinics migrated: {total}/{total}" in output
    assert "skipped 0 current clinics" in output


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["migrate_schemas", "migrate"])
def test_a_targeted_run_marks_the_clinic_for_a_full_check(clinic1, command):
    """``migrate`` is the same command: migrating (or unmigrating) one app by either name
    cannot leave a fingerprint that vouches for a schema it no longer describes."""
    assert _fingerprint(clinic1) == code_fingerprint()
    call_command(
        command, "--tenant", "--schema", clinic1.schema_name, "tenants_core",
        interactive=False, stdout=io.StringIO(),
    )  # fmt: skip
    assert _fingerprint(clinic1) == ""


@pytest.mark.django_db
def test_the_command_rebuilds_a_stale_template():
    with connection.cursor() as cursor:
        cursor.execute(f"COMMENT ON SCHEMA \"{TEMPLATE_SCHEMA}\" IS 'migrations_fingerprint=old'")
    output = _migrate("--tenant")
    assert template_fingerprint() == code_fingerprint()
    assert f"template schema {TEMPLATE_SCHEMA} rebuilt" in output
    assert f"template schema {TEMPLATE_SCHEMA} rebuilt" not in _migrate("--tenant")


@pytest.mark.django_db
def test_a_noop_run_reads_the_clinics_in_one_query_whatever_their_number():
    """1,000 current clinics cost what 3 do: no clinic's schema is opened."""
    plan = Plan.objects.first()
    Clinic.objects.bulk_create(
        Clinic(
            schema_name=f"clinic_noop_{n}",
            subdomain=f"noop-{n}",
            name=f"Noop {n}",
            legal_id="20600000005",
            plan=plan,
            migrations_fingerprint=code_fingerprint(),
        )
        for n in range(1000)
    )
    with CaptureQueriesContext(connection) as queries:
        output = _migrate("--tenant")
    current = Clinic.objects.exclude(schema_name="public").count()
    assert f"skipped {current} current clinics" in output
    assert current >= 1000
    assert len(queries) <= 6, [q["sql"] for q in queries]
    assert not any("clinic_noop" in q["sql"] for q in queries)


_NOTES: dict[str, Path] = {}
_migrate_clinic = migrate_schemas._migrate_clinic
MEETING_TIMEOUT = 20.0  # seconds a worker waits for the other one to be migrating too


def _migrating_side_by_side(*args: Any) -> None:
    """Runs in a worker process. Notes its pid, then waits (at most MEETING_TIMEOUT) until
    another process is migrating a clinic too, and only then migrates its own: with one
    worker, or clinics migrated one after another, no two ever meet. Each clinic's migration
    interval is written down as ``<pid> <start> <end>``."""
    notes = _NOTES["pids"]
    (notes / f"{os.getpid()}.pid").touch()
    deadline = time.monotonic() + MEETING_TIMEOUT
    while len(list(notes.glob("*.pid"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.time()
    _migrate_clinic(*args)
    interval = f"{os.getpid()} {started} {time.time()}"
    (notes / f"{args[2]}.interval").write_text(interval)


def test_stale_clinics_are_migrated_in_parallel_processes(
    committed_clinic, django_db_blocker, monkeypatch, tmp_path
):
    """Committed clinics, so that worker processes see them. Two workers must migrate the two
    clinics at the same time: two distinct pids, neither the test's, and overlapping
    migration intervals.

    Mutation checks (issue 22): ``max_workers=1`` in ``_migrate_in_pool`` (the old version of
    this test passed with it), and always migrating in this process (``_migrate_here``), each
    turn this red."""
    clinics = [committed_clinic("paralela-uno"), committed_clinic("paralela-dos")]
    pids = tmp_path / "pids"
    pids.mkdir()
    monkeypatch.setattr(
        migrate_schemas, "_migrate_clinic", _migrating_side_by_side
    )  # forks inherit it
    monkeypatch.setitem(_NOTES, "pids", pids)
    with django_db_blocker.unblock():
        for clinic in clinics:
            _forget_marker(clinic.schema_name)
            Clinic.objects.filter(pk=clinic.pk).update(migrations_fingerprint="")
        output = _migrate("--tenant", "--jobs", "2")
        assert all(_has_marker(clinic.schema_name) for clinic in clinics)
        assert {_fingerprint(clinic) for clinic in clinics} == {code_fingerprint()}
    intervals = {
        path.name.removesuffix(".interval"): path.read_text().split()
        for path in pids.glob("*.interval")
    }
    assert set(intervals) == {clinic.schema_name for clinic in clinics}
    workers = {int(pid) for pid, _, _ in intervals.values()}
    assert len(workers) == 2, intervals
    assert os.getpid() not in workers
    (_, start_a, end_a), (_, start_b, end_b) = intervals.values()
    assert max(float(start_a), float(start_b)) < min(float(end_a), float(end_b)), intervals
    progress = re.findall(r"clinics migrated: (\d+)/(\d+)", output)
    assert progress == [("1", "2"), ("2", "2")]


def test_a_failing_clinic_is_reported_and_stays_stale(committed_clinic, django_db_blocker):
    clinic = committed_clinic("rota")
    healthy = committed_clinic("sana")
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            # Migrating "rota" will try to record this migration and find the table gone.
            cursor.execute(f'DROP TABLE "{clinic.schema_name}".django_migrations')
        Clinic.objects.filter(pk__in=[clinic.pk, healthy.pk]).update(migrations_fingerprint="")
        with pytest.raises(Exception, match="1 clinics failed to migrate: clinic_rota"):
            _migrate("--tenant", "--jobs", "2")
        assert _fingerprint(clinic) == ""
        assert _fingerprint(healthy) == code_fingerprint()

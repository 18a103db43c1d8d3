"""``scripts/bench --rollup``: the per-clinic metrics rollup over 1,000 clinics.

Provisions the clinics the way ``scripts/bench --scaling`` does (``benchmarks.scaling.Run``:
``clinic_provision`` one after another) into a database of its own, ``dental_bench_rollup``,
gives a tenth of them some rows (patients, audit events, stored files), and measures
(``measure``) on one day: the full rollup (total, per clinic median/p95, statements), a re-run
(idempotent: every row the same but ``computed_at``), and a run killed (SIGKILL) part-way in a
child process, then resumed: the resume does only the clinics after the killed run's cursor.
Results go to ``bench-results/rollup-<UTC>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from typing import Any

from benchmarks.database import BENCH_DATABASE, ROOT, Server

DATABASE = f"{BENCH_DATABASE}_rollup"


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench --rollup", description=__doc__)
    parser.add_argument("--clinics", type=int, default=1000, help="Clinics to roll up.")
    parser.add_argument("--resume", action="store_true", help="Keep the clinics already made.")
    parser.add_argument(
        "--provision-only", action="store_true", help="Make the clinics, measure nothing."
    )
    parser.add_argument("--with-rows", type=int, default=10, help="One clinic in N gets rows.")
    parser.add_argument("--kill-after", type=int, default=300, help="Clinics before the kill.")
    parser.add_argument("--child-run", help=argparse.SUPPRESS)  # a day: the run to be killed
    return parser.parse_args(argv)


def _log(message: str) -> None:
    print(f"[rollup {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _some_rows(every: int) -> int:
    """Patients, audit events and files in one clinic out of ``every``: rows for the rollup."""
    from django.db import transaction

    from backend.audit.models import AuditEvent
    from backend.core.tenancy import clinic_context
    from backend.files.models import StoredFile
    from backend.patients.models import Patient
    from benchmarks.scaling import PREFIX
    from tenants_core.models import Clinic

    clinics = list(Clinic.objects.filter(subdomain__startswith=PREFIX).order_by("pk"))[::every]
    for clinic in clinics:
        with clinic_context(clinic), transaction.atomic():
            if Patient.objects.exists():
                continue
            Patient.objects.bulk_create(
                Patient(
                    first_name=f"P{n}",
                    last_name="Bench",
                    document_type="DNI",
                    document_number=f"{40000000 + n}",
                )
                for n in range(20)
            )
            AuditEvent.objects.bulk_create(
                AuditEvent(action="patient.create", entity_type="patients.patient")
                for _ in range(5)
            )
            StoredFile.objects.bulk_create(
                StoredFile(
                    key=f"clinics/{clinic.schema_name}/bench/{n}",
                    purpose="DOCUMENT",
                    content_type="application/pdf",
                    size_bytes=1000 * (n + 1),
                    sha256="0" * 64,
                )
                for n in range(2)
            )
    return len(clinics)


def _timed_run(day: dt.date, **options: Any) -> dict[str, Any]:
    from django.db import connection

    from backend.metrics.rollup import rollup_run
    from benchmarks.stats import median, p95

    seconds: list[float] = []
    statements = 0
    last = time.perf_counter()

    def count(execute: Any, sql: Any, params: Any, many: bool, context: Any) -> Any:
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    def lap(_clinic: Any) -> None:
        nonlocal last
        now = time.perf_counter()
        seconds.append(now - last)
        last = now

    began = time.perf_counter()
    with connection.execute_wrapper(count):
        result = rollup_run(day=day, after_clinic=lap, **options)
    total = time.perf_counter() - began
    return {
        "clinics": len(result.clinic_ids),
        "resumed": result.resumed,
        "total_s": round(total, 2),
        "per_clinic_median_ms": round(median(seconds) * 1000, 2) if seconds else None,
        "per_clinic_p95_ms": round(p95(seconds) * 1000, 2) if seconds else None,
        "statements": statements,
        "statements_per_clinic": round(statements / max(len(result.clinic_ids), 1), 2),
        "clinic_ids": result.clinic_ids,
    }


def _rows(day: dt.date) -> dict[int, tuple[Any, ...]]:
    from backend.metrics.models import ClinicDayMetrics

    fields = [
        f.attname for f in ClinicDayMetrics._meta.fields if f.name not in {"id", "computed_at"}
    ]
    return {
        row[0]: row
        for row in ClinicDayMetrics.objects.filter(day=day).values_list("clinic_id", *fields[1:])
    }


def measure(server: Server, options: argparse.Namespace, run: Any) -> dict[str, Any]:
    from django.core.management import call_command

    from backend.metrics.models import MetricsRollupRun
    from backend.metrics.rollup import local_today
    from tenants_core.models import Clinic

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    figures: dict[str, Any] = {"clinics_with_rows": _some_rows(options.with_rows)}
    clinic = Clinic.objects.exclude(schema_name="public").first()
    assert clinic is not None
    day = local_today(clinic)
    figures["day"] = day.isoformat()
    _log("full rollup")
    full = _timed_run(day, restart=True)
    first_rows = _rows(day)
    _log("re-run")
    again = _timed_run(day)
    figures["full"] = {k: v for k, v in full.items() if k != "clinic_ids"}
    figures["rerun"] = {k: v for k, v in again.items() if k != "clinic_ids"}
    figures["rerun"]["same_numbers"] = _rows(day) == first_rows
    figures["rerun"]["rows"] = len(first_rows)
    # A child process rolls up the day from scratch and is killed part-way.
    _log(f"killing a run after {options.kill_after} clinics")
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.rollup", "--child-run", day.isoformat()],
        cwd=ROOT,
        env={**os.environ},
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        open_run = MetricsRollupRun.objects.filter(day=day, finished_at__isnull=True).first()
        if open_run and open_run.clinics_done >= options.kill_after:
            break
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    killed = MetricsRollupRun.objects.get(day=day, finished_at__isnull=True, abandoned=False)
    resume = _timed_run(day)
    expected = [pk for pk in sorted(first_rows) if pk > killed.cursor]
    figures["resume"] = {k: v for k, v in resume.items() if k != "clinic_ids"}
    figures["resume"].update(
        killed_after_clinics=killed.clinics_done,
        killed_cursor=killed.cursor,
        did_only_the_rest=resume["clinic_ids"] == expected,
        same_numbers=_rows(day) == first_rows,
    )
    return figures


def main(argv: list[str]) -> int:
    options = _arguments(argv)
    server = Server()
    if server.comment(DATABASE) is None:
        server.create(DATABASE)  # Django checks the database while it starts
    from benchmarks.__main__ import _setup

    _setup(server.url(DATABASE))
    if options.child_run:
        from backend.metrics.rollup import rollup_run

        rollup_run(day=dt.date.fromisoformat(options.child_run), restart=True)
        return 0
    from benchmarks.scaling import Run

    run = Run(server, options, database=DATABASE, name="rollup")
    run.results["command"] = "scripts/bench --rollup " + " ".join(argv)
    have = run.prepare()
    _log(f"{have} clinics present")
    if have < options.clinics:
        seconds = run.provision(have, options.clinics, 0.0)
        have += len(seconds)
        _log(f"{have} clinics provisioned")
    if options.provision_only:
        return 0
    import json

    from benchmarks.scaling import _machine

    run.results["clinics"] = have
    run.results["machine"] = _machine()
    run.results["rollup"] = measure(server, options, run)
    run.results["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    run.save()
    _log(json.dumps(run.results["rollup"]))
    _log(f"results: {run.path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

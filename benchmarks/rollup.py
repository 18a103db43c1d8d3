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
    parser.add_argument("--busy-every", type=int, default=10, help="One clinic in N is busy.")
    parser.add_argument("--seed", type=float, default=0.18, help="setseed() for the rows.")
    parser.add_argument("--kill-after", type=int, default=300, help="Clinics before the kill.")
    parser.add_argument("--skip-kill", action="store_true", help="No killed run and resume.")
    parser.add_argument("--no-seed", action="store_true", help="Measure the rows as they are.")
    parser.add_argument("--seed-only", action="store_true", help="Seed the rows, measure nothing.")
    parser.add_argument("--seed-shard", default="0/1", help="k/n: seed clinics k mod n only.")
    parser.add_argument(
        "--explain", nargs="*", metavar="SCHEMA", help="EXPLAIN the statement for these clinics."
    )
    parser.add_argument("--child-run", help=argparse.SUPPRESS)  # a day: the run to be killed
    return parser.parse_args(argv)


def _log(message: str) -> None:
    print(f"[rollup {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# Rows a clinic gets (``_seed``): one clinic in ``--busy-every`` is busy, the others small.
# Two years of history (and a month of appointments ahead) up to the moment of seeding.
VOLUMES = {
    "busy": {
        "users": 15,
        "chairs": 6,
        "patients": 3000,
        "appointments": 30000,
        "payments": 15000,
        "receipts": 15000,
        "notifications": 20000,
        "tokens": 20000,
        "audit": 20000,
        "files": 3000,
    },
    "small": {
        "users": 4,
        "chairs": 2,
        "patients": 300,
        "appointments": 3000,
        "payments": 1500,
        "receipts": 1500,
        "notifications": 2000,
        "tokens": 2000,
        "audit": 2000,
        "files": 300,
    },
}

# One clinic's rows, by INSERT ... SELECT generate_series in its schema (random() after
# setseed: the same rows every time). Appointments are laid out per chair (and professional)
# ``step`` apart so the no-overlap exclusion constraints hold.
SEED_SQL = """
SELECT setseed(%(seed)s);
INSERT INTO accounts_user (password, is_superuser, email, full_name, role, is_active, is_staff,
    date_joined)
SELECT '!', false, 'bench-user-' || g || '@bench.example', 'Bench User ' || g,
    (ARRAY['ADMIN', 'DENTIST', 'ASSISTANT', 'RECEPTIONIST'])[1 + g %% 4], true, false,
    now() - interval '800 days'
FROM generate_series(1, %(users)s) g;
INSERT INTO staff_chair (name, is_active)
SELECT 'Bench chair ' || g, true FROM generate_series(1, %(chairs)s) g;
INSERT INTO staff_professional (full_name, license_number, specialty, color, is_active, created_at)
SELECT 'Bench Dentist ' || g, 'BENCH-' || g, '', '#336699', true, now() - interval '800 days'
FROM generate_series(1, %(chairs)s) g;
INSERT INTO patients_patient (first_name, last_name, document_type, document_number, sex,
    phone, email, address, emergency_contact_name, emergency_contact_phone, notes, allergies,
    medical_alerts, is_archived, created_at, updated_at, front_desk_alert)
SELECT 'P' || g, 'Bench', 'DNI', (50000000 + g)::text, '', '', '', '', '', '', '', '', '',
    random() < 0.05, t, t, ''
FROM (SELECT g, now() - random() * interval '730 days' AS t
      FROM generate_series(1, %(patients)s) g) s;
CREATE TEMP TABLE bench_ids ON COMMIT DROP AS SELECT
    (SELECT array_agg(id ORDER BY id) FROM staff_chair WHERE name LIKE 'Bench chair %%') AS chairs,
    (SELECT array_agg(id ORDER BY id) FROM staff_professional
      WHERE license_number LIKE 'BENCH-%%') AS pros,
    (SELECT array_agg(id ORDER BY id) FROM accounts_user
      WHERE email LIKE 'bench-user-%%') AS users,
    (SELECT min(id) FROM patients_patient WHERE document_number >= '50000000') AS patient0;
INSERT INTO scheduling_appointment (starts_at, ends_at, reason, notes, status,
    cancellation_reason, created_at, updated_at, chair_id, patient_id, professional_id)
SELECT s.starts_at, s.starts_at + interval '30 minutes', 'Bench', '',
    CASE WHEN s.starts_at > now() THEN 'SCHEDULED' WHEN s.r < 0.08 THEN 'CANCELLED'
         WHEN s.r < 0.15 THEN 'NO_SHOW' ELSE 'COMPLETED' END,
    '', s.created, s.created, b.chairs[1 + s.g %% %(chairs)s],
    b.patient0 + floor(random() * %(patients)s)::int, b.pros[1 + s.g %% %(chairs)s]
FROM bench_ids b, (
    SELECT g, r, t AS starts_at, least(t, now()) - random() * interval '20 days' AS created
    FROM (SELECT g, random() AS r,
                 date_trunc('hour', now()) - interval '730 days'
                 + (g / %(chairs)s) * (interval '760 days' / ceil(%(appointments)s::numeric
                                                                 / %(chairs)s))
                 + (g %% %(chairs)s) * interval '7 minutes' AS t
          FROM generate_series(0, %(appointments)s - 1) g) x) s;
INSERT INTO billing_payment (kind, amount, currency, exchange_rate, amount_pen, method, paid_at,
    reference, reason, created_at, patient_id, received_by_id)
SELECT CASE WHEN s.r < 0.03 THEN 'REFUND' ELSE 'PAYMENT' END, s.amount, 'PEN', 1, s.amount,
    (ARRAY['CASH', 'CARD', 'TRANSFER', 'YAPE', 'PLIN'])[1 + s.g %% 5], s.t, '',
    CASE WHEN s.r < 0.03 THEN 'Bench refund' ELSE '' END, s.t,
    b.patient0 + floor(random() * %(patients)s)::int, b.users[1 + s.g %% %(users)s]
FROM bench_ids b, (SELECT g, random() AS r, round((50 + random() * 450)::numeric, 2) AS amount,
                          now() - random() * interval '730 days' AS t
                   FROM generate_series(1, %(payments)s) g) s;
INSERT INTO billing_receipt (receipt_type, series, number, customer_name, customer_document,
    igv_rate, subtotal, tax, total, currency, status, issued_at, void_reason, voided_at,
    issued_by_id, patient_id, voided_by_id)
SELECT 'BOLETA', 'B900', s.g, 'Bench', '', 0.18, s.sub, round(s.sub * 0.18, 2),
    s.sub + round(s.sub * 0.18, 2), 'PEN', CASE WHEN s.r < 0.03 THEN 'VOID' ELSE 'PAID' END,
    s.t, CASE WHEN s.r < 0.03 THEN 'Bench' ELSE '' END,
    CASE WHEN s.r < 0.03 THEN least(now(), s.t + random() * interval '3 days') END,
    b.users[1 + s.g %% %(users)s], b.patient0 + floor(random() * %(patients)s)::int,
    CASE WHEN s.r < 0.03 THEN b.users[1] END
FROM bench_ids b, (SELECT g, random() AS r, round((40 + random() * 400)::numeric, 2) AS sub,
                          now() - random() * interval '730 days' AS t
                   FROM generate_series(1, %(receipts)s) g) s;
INSERT INTO notifications_notification (kind, channel, status, send_at, recipient, subject,
    body, provider_message_id, failure_code, failure_reason, attempts, sent_at, created_at,
    updated_at, appointment_id, patient_id, one_time_code)
SELECT 'REMINDER', CASE WHEN s.r < 0.6 THEN 'WHATSAPP' WHEN s.r < 0.85 THEN 'SMS' ELSE 'EMAIL'
    END, 'SENT', s.t, '+51900000000', '', 'Bench', '', '', '', 1, s.t + interval '1 minute',
    s.t, s.t, a.id, a.patient_id, ''
FROM (SELECT g, random() AS r, now() - random() * interval '730 days' AS t,
             1 + floor(random() * %(appointments)s)::int AS k
      FROM generate_series(1, %(notifications)s) g) s
JOIN (SELECT id, patient_id, row_number() OVER (ORDER BY id) AS k
      FROM scheduling_appointment) a USING (k);
INSERT INTO accounts_authtoken (key_hash, created_at, expires_at, user_agent, user_id)
SELECT md5(current_schema() || '/' || s.g), s.t, s.t + interval '30 days', '',
    b.users[1 + s.g %% %(users)s]
FROM bench_ids b, (SELECT g, now() - random() * interval '730 days' AS t
                   FROM generate_series(1, %(tokens)s) g) s;
INSERT INTO audit_auditevent (actor_email, action, entity_type, entity_id, changes, user_agent,
    created_at)
SELECT '', 'patient.update', 'patients.patient', g::text, '{}', '',
    now() - random() * interval '730 days'
FROM generate_series(1, %(audit)s) g;
INSERT INTO files_storedfile (key, purpose, content_type, size_bytes, sha256, original_name,
    created_at)
SELECT 'clinics/' || current_schema() || '/bench-seed/' || g, 'DOCUMENT', 'application/pdf',
    10000 + floor(random() * 2000000)::bigint, repeat('0', 64), '',
    now() - random() * interval '730 days'
FROM generate_series(1, %(files)s) g;
"""

SEEDED_TABLES = (
    "accounts_user",
    "accounts_authtoken",
    "patients_patient",
    "scheduling_appointment",
    "billing_payment",
    "billing_receipt",
    "notifications_notification",
    "files_storedfile",
    "audit_auditevent",
)


def _seed(busy_every: int, seed: float, shard: str = "0/1") -> dict[str, Any]:
    """Realistic rows in every bench clinic (``VOLUMES``), by bulk SQL in each schema; a clinic
    already seeded is left alone; ``shard`` "k/n" does only the clinics whose index is k mod n
    (seeding processes side by side). Returns what it did."""
    import psycopg2.extensions
    from django.db import connection
    from psycopg2 import sql

    from benchmarks.scaling import PREFIX
    from tenants_core.models import Clinic

    clinics = list(
        Clinic.objects.filter(subdomain__startswith=PREFIX)
        .order_by("pk")
        .values_list("schema_name", flat=True)
    )
    began = time.perf_counter()
    seeded = 0
    # The raw connection (autocommit): no tenant routing in between, VACUUM allowed.
    connection.ensure_connection()
    raw = connection.connection
    assert isinstance(raw, psycopg2.extensions.connection)
    assert raw.autocommit
    with raw.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")  # a busy clinic's rows take a while
    part, parts = (int(n) for n in shard.split("/"))
    for index, schema in enumerate(clinics):
        if index % parts != part:
            continue
        kind = "busy" if index % busy_every == 0 else "small"
        with raw.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(
                sql.SQL("SET LOCAL search_path = {}, extensions, public").format(
                    sql.Identifier(schema)
                )
            )
            cursor.execute("SELECT 1 FROM accounts_user WHERE email = 'bench-user-1@bench.example'")
            if cursor.fetchone():
                cursor.execute("ROLLBACK")
                continue
            try:
                cursor.execute(SEED_SQL, {**VOLUMES[kind], "seed": seed})
            except Exception:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
            seeded += 1
            for table in SEEDED_TABLES:
                cursor.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(schema, table)))
        if (index + 1) % 50 == 0:
            _log(f"seeded {index + 1} clinics, {time.perf_counter() - began:.0f} s")
    return {
        "busy_every": busy_every,
        "volumes": VOLUMES,
        "seed": seed,
        "clinics_seeded_now": seeded,
        "seed_seconds": round(time.perf_counter() - began, 1),
    }


def explain(schema: str, runs: int = 3) -> dict[str, Any]:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of the rollup statement (``backend.metrics.rollup``'s
    upsert) for one clinic and its local today, ``runs`` times, each rolled back: the first run's
    and the best run's execution time, and the best run's plan (text)."""
    from django.db import connection, transaction

    from backend.core.db_backend.connection import tenant_connection
    from backend.metrics.rollup import _parameters, _upsert, local_today
    from tenants_core.models import Clinic

    clinic = Clinic.objects.select_related("plan").get(schema_name=schema)
    parameters = _parameters(clinic, local_today(clinic), dt.datetime.now(dt.UTC))
    times: list[float] = []
    plans: list[str] = []
    for _ in range(runs):
        with (
            transaction.atomic(),
            tenant_connection().schema_qualified(),
            connection.cursor() as cursor,
        ):
            statement = _upsert(schema).as_string(cursor.connection)
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)
        plans.append(plan)
        times.append(float(plan.rsplit("Execution Time: ", 1)[1].split(" ")[0]))
    best = min(range(runs), key=times.__getitem__)
    return {
        "schema": schema,
        "day": parameters["day"].isoformat(),
        "first_ms": times[0],
        "best_ms": times[best],
        "plan": plans[best],
    }


def _timed_run(day: dt.date, **options: Any) -> dict[str, Any]:
    from django.db import connection

    from backend.metrics.rollup import rollup_run
    from benchmarks.stats import median, p95

    seconds: list[float] = []
    by_schema: dict[str, float] = {}
    statements = 0
    last = time.perf_counter()

    def count(execute: Any, sql: Any, params: Any, many: bool, context: Any) -> Any:
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    def lap(clinic: Any) -> None:
        nonlocal last
        now = time.perf_counter()
        seconds.append(now - last)
        by_schema[clinic.schema_name] = now - last
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
        "by_schema": by_schema,
    }


def _kinds() -> dict[str, str]:
    """Each bench clinic's kind: "busy" or "small" (seeded by ``_seed``), or "empty"."""
    from django.db import connection
    from psycopg2 import sql

    from benchmarks.scaling import PREFIX
    from tenants_core.models import Clinic

    kinds = {}
    with connection.cursor() as cursor:
        for schema in Clinic.objects.filter(subdomain__startswith=PREFIX).values_list(
            "schema_name", flat=True
        ):
            cursor.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE name LIKE 'Bench chair %%'")
                .format(sql.Identifier(schema, "staff_chair"))
                .as_string(cursor.connection)
            )
            chairs = cursor.fetchone()[0]
            kinds[schema] = "empty" if not chairs else "busy" if chairs > 2 else "small"
    return kinds


def _by_kind(run: dict[str, Any], kinds: dict[str, str]) -> dict[str, Any]:
    """Per-clinic seconds of a run by kind of clinic (count, median, p95, sum, in ms)."""
    from benchmarks.stats import median, p95

    out: dict[str, Any] = {}
    for kind in ("busy", "small", "empty"):
        values = [v for schema, v in run["by_schema"].items() if kinds.get(schema) == kind]
        if values:
            out[kind] = {
                "clinics": len(values),
                "median_ms": round(median(values) * 1000, 2),
                "p95_ms": round(p95(values) * 1000, 2),
                "mean_ms": round(sum(values) / len(values) * 1000, 2),
                "sum_s": round(sum(values), 2),
            }
    return out


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
    from benchmarks.scaling import PREFIX
    from tenants_core.models import Clinic

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    figures: dict[str, Any] = {}
    if not options.no_seed:
        _log("seeding")
        figures["data"] = _seed(options.busy_every, options.seed)
    clinic = Clinic.objects.exclude(schema_name="public").first()
    assert clinic is not None
    day = local_today(clinic)
    figures["day"] = day.isoformat()
    # The statement of one busy clinic (the first) and one small one (the second), warm.
    schemas = list(
        Clinic.objects.filter(subdomain__startswith=PREFIX)
        .order_by("pk")
        .values_list("schema_name", flat=True)[:2]
    )
    figures["explain"] = dict(zip(("busy", "small"), (explain(s) for s in schemas), strict=True))
    _log("full rollup")
    full = _timed_run(day, restart=True)
    first_rows = _rows(day)
    _log("re-run")
    again = _timed_run(day)
    kinds = _kinds()
    figures["kinds"] = {k: sum(1 for v in kinds.values() if v == k) for k in set(kinds.values())}
    hidden = {"clinic_ids", "by_schema"}
    figures["full"] = {k: v for k, v in full.items() if k not in hidden}
    figures["full"]["by_kind"] = _by_kind(full, kinds)
    figures["rerun"] = {k: v for k, v in again.items() if k not in hidden}
    figures["rerun"]["by_kind"] = _by_kind(again, kinds)
    figures["rerun"]["same_numbers"] = _rows(day) == first_rows
    figures["rerun"]["rows"] = len(first_rows)
    if options.skip_kill:
        return figures
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
    figures["resume"] = {k: v for k, v in resume.items() if k not in hidden}
    figures["resume"]["by_kind"] = _by_kind(resume, kinds)
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
    if options.explain:
        for schema in options.explain:
            figures = explain(schema)
            print(figures.pop("plan"))
            print(figures)
        return 0
    if options.seed_only:
        _log(str(_seed(options.busy_every, options.seed, options.seed_shard)))
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

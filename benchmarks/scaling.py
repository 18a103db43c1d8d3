"""``scripts/bench --scaling``: the cost of many clinic schemas in one database.

Provisions clinics one after another through the production service (``clinic_provision``:
template clone, domain, first ADMIN with the production password hasher) into a database of
its own, ``dental_bench_scaling``, and at each checkpoint (default 1,000, 2,000 and 5,000
clinics) measures:

- provisioning time per clinic (median, p95) over the clinics since the previous checkpoint;
- catalog rows (``pg_class``, ``pg_attribute``…), the catalogs' size on disk, the database size;
- a fresh backend's memory (``/proc/<pid>/status`` and ``smaps_rollup`` of the server process
  found with ``pg_backend_pid()``, and its ``CacheMemoryContext``) before and after it opens
  every table of 1, 100 and 1,000 clinics;
- ``manage.py migrate_schemas`` with nothing to apply, ``manage.py check_tenants``, and one
  clinic's forced migration (what ``migrate_schemas --force`` does per clinic).

Every figure goes to ``bench-results/scaling-<UTC>.json`` as soon as it is measured, so a run
stopped early (``--deadline-minutes``) keeps what it measured. ``--resume`` continues in the
existing database instead of starting again; ``--markdown <json>`` prints a run's table. The
database server is the benchmark's (see ``benchmarks.database``): never the
development or test database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.database import BENCH_DATABASE, ROOT, Server

DATABASE = f"{BENCH_DATABASE}_scaling"
PREFIX = "scale-"
# The memory figure stops at this many clinics touched: it grows linearly (the doc extrapolates)
# and one backend touching 5,000 clinics would hold gigabytes on a shared machine.
TOUCH_MAX = 1000
# What a day-agenda request reads (token, user, appointments with patient, professional, chair):
# the relation cache a backend builds per clinic under ordinary traffic.
AGENDA_TABLES = (
    "accounts_authtoken", "accounts_user", "scheduling_appointment", "patients_patient",
    "staff_professional", "staff_chair",
)  # fmt: skip
CATALOGS = (
    "pg_class", "pg_attribute", "pg_depend", "pg_type", "pg_constraint", "pg_index",
    "pg_attrdef", "pg_trigger", "pg_sequence", "pg_namespace", "pg_statistic", "pg_proc",
)  # fmt: skip


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench --scaling", description=__doc__)
    parser.add_argument("--checkpoints", default="1000,2000,5000", help="Clinic counts.")
    parser.add_argument("--resume", action="store_true", help="Keep the clinics already made.")
    parser.add_argument(
        "--deadline-minutes",
        type=float,
        default=0,
        help="Stop provisioning after this long and measure at the count reached (0: never).",
    )
    parser.add_argument("--force-sample", type=int, default=5, help="Clinics force-migrated.")
    parser.add_argument(
        "--memory-only",
        action="store_true",
        help="Only the backend memory figures, on the clinics already made (no provisioning).",
    )
    options = parser.parse_args(argv)
    options.checkpoints = sorted({int(n) for n in options.checkpoints.split(",")})
    return options


def _log(message: str) -> None:
    print(f"[scaling {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median_s": round(statistics.median(values), 4),
        "p95_s": round(_percentile(values, 0.95), 4),
    }


class Run:
    def __init__(
        self,
        server: Server,
        options: argparse.Namespace,
        *,
        database: str = DATABASE,
        name: str = "scaling",
    ) -> None:
        self.server = server
        self.options = options
        self.database = database  # benchmarks.rollup provisions its own database the same way
        self.url = server.url(database)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        self.path = ROOT / "bench-results" / f"{name}-{stamp}.json"
        self.results: dict[str, Any] = {
            "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": "scripts/bench --scaling " + " ".join(sys.argv[1:]),
            "machine": _machine(),
            "checkpoints": [],
        }

    def save(self) -> None:
        self.path.parent.mkdir(exist_ok=True)
        self.path.write_text(json.dumps(self.results, indent=2) + "\n")

    def prepare(self) -> int:
        """The database with its public schema and template; returns the clinics it holds."""
        from django.core.management import call_command
        from django.db import connections

        if not self.options.resume or self.server.comment(self.database) is None:
            _log(f"creating {self.database}")
            connections.close_all()
            self.server.create(self.database)
            call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
            from tenants_core.services import public_tenant_ensure

            public_tenant_ensure()
        from tenants_core import schema_template
        from tenants_core.models import Clinic

        schema_template.template_refresh()
        return Clinic.objects.filter(subdomain__startswith=PREFIX).count()

    def provision(self, first: int, stop: int, deadline: float) -> list[float]:
        from benchmarks import dataset

        seconds = []
        for index in range(first, stop):
            if deadline and time.monotonic() > deadline:
                _log(f"deadline reached at {index} clinics")
                break
            began = time.perf_counter()
            dataset.clinic_create(f"{PREFIX}{index:05d}")
            seconds.append(time.perf_counter() - began)
            if (index + 1) % 250 == 0:
                recent = statistics.median(seconds[-250:])
                _log(f"{index + 1} clinics, median of the last 250: {recent:.3f} s")
        return seconds

    def checkpoint(self, clinics: int, provision_seconds: list[float]) -> None:
        from django.db import connections

        connections.close_all()
        figures: dict[str, Any] = {"clinics": clinics}
        if provision_seconds:
            figures["provisioning"] = _summary(provision_seconds)
            figures["provisioning_last_200"] = _summary(provision_seconds[-200:])
        self.results["checkpoints"].append(figures)
        for name, measure in (
            ("catalog", self.catalog),
            ("memory", lambda: self.memory(clinics)),
            ("memory_agenda_tables", lambda: self.memory(clinics, AGENDA_TABLES)),
            ("check_tenants", lambda: self.command(["check_tenants"])),
            ("migrate_noop", lambda: self.command(["migrate_schemas", "--noinput", "-v", "0"])),
            ("migrate_one_clinic", self.migrate_one_clinic),
        ):
            _log(f"{clinics} clinics: measuring {name}")
            figures[name] = measure()
            self.save()
        _log(f"{clinics} clinics: {json.dumps(figures)}")

    def _connect(self):  # type: ignore[no-untyped-def]
        import psycopg2

        conn = psycopg2.connect(self.url)
        conn.autocommit = True
        return conn

    def catalog(self) -> dict[str, Any]:
        from psycopg2 import sql

        conn = self._connect()
        try:
            with conn.cursor() as cursor:
                rows = {}
                for table in CATALOGS:
                    table_name = sql.Identifier("pg_catalog", table)
                    cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(table_name))
                    rows[table] = cursor.fetchone()[0]
                cursor.execute(
                    "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c"
                    " WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'r'"
                )
                catalog_bytes = int(cursor.fetchone()[0])
                cursor.execute("SELECT pg_database_size(current_database())")
                database_bytes = int(cursor.fetchone()[0])
                cursor.execute(
                    "SELECT count(*) FILTER (WHERE c.relkind IN ('r','p')),"
                    " count(*) FILTER (WHERE c.relkind = 'i'), count(*)"
                    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = '_clinic_template'"
                )
                tables, indexes, relations = cursor.fetchone()
        finally:
            conn.close()
        return {
            "rows": rows,
            "catalog_bytes": catalog_bytes,
            "database_bytes": database_bytes,
            "per_clinic_schema": {"tables": tables, "indexes": indexes, "relations": relations},
        }

    def memory(self, clinics: int, tables: tuple[str, ...] | None = None) -> dict[str, Any]:
        """One fresh backend: its memory, then after opening every table of 1, 100 and
        ``TOUCH_MAX`` clinics (``SELECT * … LIMIT 0`` plans the statement: relcache and
        catcache entries for the table, its indexes, columns and types)."""
        conn = self._connect()
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]
                cursor.execute(
                    "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s ORDER BY nspname",
                    ["clinic_" + PREFIX.replace("-", "_") + "%"],
                )
                schemas = [row[0] for row in cursor.fetchall()]
                steps: list[dict[str, Any]] = [{"clinics_touched": 0, **_backend(cursor, pid)}]
                touched = 0
                for target in sorted({min(n, len(schemas)) for n in (1, 100, TOUCH_MAX)}):
                    began = time.perf_counter()
                    for start in range(touched, target, 50):
                        _touch(cursor, schemas[start : min(start + 50, target)], tables)
                    elapsed = time.perf_counter() - began
                    touched = target
                    steps.append(
                        {
                            "clinics_touched": target,
                            "touch_seconds": round(elapsed, 2),
                            **_backend(cursor, pid),
                        }
                    )
        finally:
            conn.close()
        return {"tables": list(tables) if tables else "all", "steps": steps}

    def command(self, arguments: list[str]) -> dict[str, Any]:
        from benchmarks.server import child_env

        began = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "manage.py", *arguments],
            cwd=ROOT,
            env=child_env(self.url),
            capture_output=True,
            text=True,
            timeout=3 * 3600,
            check=False,
        )
        elapsed = time.perf_counter() - began
        return {
            "seconds": round(elapsed, 2),
            "returncode": completed.returncode,
            "tail": (completed.stdout + completed.stderr)[-300:],
        }

    def migrate_one_clinic(self) -> dict[str, Any]:
        """The part of ``migrate_schemas --force`` spent on each clinic: Django's executor
        checking (and here finding nothing) in one schema, in this process."""
        from django.core.management import call_command
        from django.db import connections

        from tenants_core.models import Clinic

        names = list(
            Clinic.objects.filter(subdomain__startswith=PREFIX)
            .order_by("?")
            .values_list("schema_name", flat=True)[: self.options.force_sample]
        )
        seconds = []
        for name in names:
            began = time.perf_counter()
            call_command(
                "migrate_schemas",
                tenant=True,
                schema_name=name,
                interactive=False,
                verbosity=0,
                skip_checks=True,
            )
            seconds.append(time.perf_counter() - began)
        connections.close_all()
        return _summary(seconds)


def _touch(cursor: Any, schemas: list[str], tables: tuple[str, ...] | None = None) -> None:
    """Plan ``SELECT * … LIMIT 0`` on the tables (all of them, or ``tables``) of ``schemas``."""
    from psycopg2 import sql

    only = (
        sql.SQL(" AND c.relname = ANY({})").format(sql.Literal(list(tables)))
        if tables
        else sql.SQL("")
    )
    block = sql.SQL(
        "DO $$ DECLARE r record; BEGIN FOR r IN SELECT c.oid::regclass AS t FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY({})"
        " AND c.relkind IN ('r', 'p', 'v'){} LOOP"
        " EXECUTE format('SELECT * FROM %s LIMIT 0', r.t); END LOOP; END $$"
    ).format(sql.Literal(schemas), only)
    cursor.execute(block)


def _backend(cursor: Any, pid: int) -> dict[str, Any]:
    """The server process's memory (kB), as the kernel and PostgreSQL count it."""
    status = _proc_fields(Path(f"/proc/{pid}/status"), ("VmRSS", "RssAnon", "RssShmem"))
    rollup = _proc_fields(Path(f"/proc/{pid}/smaps_rollup"), ("Pss", "Pss_Anon"))
    cursor.execute(
        "SELECT sum(total_bytes) FILTER (WHERE name = 'CacheMemoryContext'"
        " OR path[2] = (SELECT level_2.path[2] FROM pg_backend_memory_contexts level_2"
        " WHERE level_2.name = 'CacheMemoryContext')), sum(total_bytes)"
        " FROM pg_backend_memory_contexts"
    )
    cache_bytes, all_bytes = cursor.fetchone()
    return {
        **status,
        **rollup,
        "cache_context_kb": round(int(cache_bytes or 0) / 1024),
        "all_contexts_kb": round(int(all_bytes or 0) / 1024),
    }


def _proc_fields(path: Path, names: tuple[str, ...]) -> dict[str, int | None]:
    try:
        lines = path.read_text().splitlines()
    except OSError:  # the server runs elsewhere or as another user
        return {f"{name}_kb": None for name in names}
    values: dict[str, int | None] = {f"{name}_kb": None for name in names}
    for line in lines:
        key, _, rest = line.partition(":")
        if key in names:
            values[f"{key}_kb"] = int(rest.split()[0])
    return values


def _machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except OSError:
        memory_kb = 0
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "nice": os.nice(0),
    }


def markdown(results: dict[str, Any]) -> str:
    """The table of docs/scaling.md, from a run's JSON."""
    rows = [
        "| Clinics | provisioning median / p95 (s), clinics since the previous row "
        "| pg_class rows | pg_attribute rows | pg_depend rows | catalogs on disk (MB) "
        "| database (MB) | backend after every table of 1 / 100 / 1,000 clinics: "
        "anonymous RSS (MB) | `CacheMemoryContext` at the last step (MB) "
        "| `migrate_schemas`, nothing to apply (s) | one clinic's migration check (s) "
        "| `check_tenants` (s) |",
        "|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for point in results["checkpoints"]:
        catalog = point.get("catalog", {})
        steps = point.get("memory", {}).get("steps", [])[1:]
        anon = " / ".join(f"{step['RssAnon_kb'] / 1024:.0f}" for step in steps)
        agenda = point.get("memory_agenda_tables", {}).get("steps", [])[1:]
        if agenda:
            anon += "; agenda tables only: " + " / ".join(
                f"{step['RssAnon_kb'] / 1024:.0f}" for step in agenda
            )
        cache = f"{steps[-1]['cache_context_kb'] / 1024:.0f}" if steps else ""
        provisioning = point.get("provisioning", {})
        migrate_one = point.get("migrate_one_clinic", {})
        rows.append(
            f"| {point['clinics']:,} "
            f"| {provisioning.get('median_s', '')} / {provisioning.get('p95_s', '')} "
            f"| {catalog.get('rows', {}).get('pg_class', 0):,} "
            f"| {catalog.get('rows', {}).get('pg_attribute', 0):,} "
            f"| {catalog.get('rows', {}).get('pg_depend', 0):,} "
            f"| {catalog.get('catalog_bytes', 0) / 2**20:.0f} "
            f"| {catalog.get('database_bytes', 0) / 2**20:.0f} "
            f"| {anon} | {cache} "
            f"| {point.get('migrate_noop', {}).get('seconds', '')} "
            f"| {migrate_one.get('median_s', '')} "
            f"| {point.get('check_tenants', {}).get('seconds', '')} |"
        )
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--markdown"]:
        print(markdown(json.loads(Path(argv[1]).read_text())))
        return 0
    options = _arguments(argv)
    server = Server()
    if server.comment(DATABASE) is None:
        server.create(DATABASE)  # Django checks the database while it starts
    from benchmarks.__main__ import _setup

    _setup(server.url(DATABASE))
    run = Run(server, options)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        run.results["machine"]["postgres"] = cursor.fetchone()[0]
    run.results["machine"]["embedded"] = server.embedded
    if options.memory_only:
        from tenants_core.models import Clinic

        have = Clinic.objects.filter(subdomain__startswith=PREFIX).count()
        figures = {
            "clinics": have,
            "memory": run.memory(have),
            "memory_agenda_tables": run.memory(have, AGENDA_TABLES),
        }
        run.results["checkpoints"].append(figures)
        run.save()
        _log(f"{json.dumps(figures)}")
        _log(f"results: {run.path.relative_to(ROOT)}")
        return 0
    have = run.prepare()
    _log(f"{have} clinics present")
    deadline = time.monotonic() + options.deadline_minutes * 60 if options.deadline_minutes else 0.0
    for target in options.checkpoints:
        if target <= have:
            continue
        seconds = run.provision(have, target, deadline)
        have += len(seconds)
        run.checkpoint(have, seconds)
        if have < target:
            break
    run.results["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    run.save()
    _log(f"results: {run.path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

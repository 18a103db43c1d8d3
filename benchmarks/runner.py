"""The run: build or reuse the data set, then (a)–(f) in order."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connections

from benchmarks import dataset, suites
from benchmarks.database import BENCH_DATABASE, ROOT, Server
from benchmarks.server import LOGIN, child_env, uvicorn
from benchmarks.stats import ratio
from devtools.pgbouncer import running_pgbouncer
from tenants_core.models import Clinic

Log = Callable[[str], None]


def run(server: Server, options: Any, *, log: Log) -> dict[str, Any]:
    shape = dataset.Shape()
    fingerprint = dataset.fingerprint(shape)
    results: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": options.quick,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "postgres": "embedded PostgreSQL" if server.embedded else "DATABASE_URL's server",
        },
        "dataset": {"fingerprint": fingerprint, **shape.__dict__},
        "settings": {
            key: getattr(options, key)
            for key in (
                "clinics",
                "rounds",
                "per_round",
                "concurrency",
                "latency_requests",
                "provision",
                "workers",
            )
        },
    }
    began = time.monotonic()
    rebuilt = _base_dataset(server, fingerprint, shape, rebuild=options.rebuild, log=log)
    results["dataset"]["rebuilt"] = rebuilt
    results["dataset"]["seconds"] = round(time.monotonic() - began, 1)
    clinic = Clinic.objects.select_related("plan").get(subdomain=dataset.BENCH_SUBDOMAIN)
    host = f"{clinic.subdomain}.{settings.BASE_DOMAIN}"
    bench_url = server.url(BENCH_DATABASE)

    sections: list[tuple[str, str, Callable[[], Any]]] = [
        ("agenda", "(a) agenda, patient search, patient chart: GraphQL vs hand-written Django "
         "views (and the agenda vs json_agg)", lambda: _agenda(bench_url, clinic, options)),
        ("statements", "(b) statements per request (a dentist: the chart needs clinical access)",
         lambda: _statements(clinic, host)),
        ("provisioning", "(c) provisioning, in a database of its own",
         lambda: _provisioning(server, fingerprint, options.provision)),
        ("scale", "(d) agenda latency by clinic count",
         lambda: _scale(server, fingerprint, host, options, log=log)),
        ("migrate", f"(e) migrate_schemas with nothing to apply, {options.clinics[-1]} clinics",
         lambda: _migrate(server, fingerprint, options.clinics[-1])),
        ("pooling", "(f) agenda direct vs PgBouncer session vs transaction mode",
         lambda: _pooling(bench_url, host, options)),
    ]  # fmt: skip
    for key, title, section in sections:
        log(title)
        try:
            results[key] = section()
        except Exception as error:  # one broken section must not lose the others' figures
            log(f"    FAILED: {type(error).__name__}: {error}")
            results.setdefault("errors", {})[key] = f"{type(error).__name__}: {error}"[:4000]
        else:
            log(f"    {_summary(results[key])}")
        connections.close_all()
    return results


def _summary(figures: Any) -> str:
    text = json.dumps(figures, default=str)
    return text if len(text) < 400 else text[:400] + "…"


def _agenda(bench_url: str, clinic: Clinic, options: Any) -> dict[str, Any]:
    """The front desk reads the agenda and searches patients; a dentist reads the chart (the
    front desk may not)."""
    chart_patient = suites.chart_patient_id(clinic)
    with uvicorn(bench_url, f"{clinic.subdomain}.{settings.BASE_DOMAIN}") as http:
        return suites.agenda_throughput(
            http,
            http.login(dataset.RECEPTIONIST_EMAIL, dataset.PASSWORD),
            clinician_token=http.login(dataset.DENTIST_EMAIL, dataset.PASSWORD),
            chart_patient=chart_patient,
            rounds=options.rounds,
            per_round=options.per_round,
            concurrency=options.concurrency,
        )


def _pooling(bench_url: str, host: str, options: Any) -> dict[str, Any]:
    """Three uvicorn processes on the bench database: straight, through PgBouncer in session
    mode, through PgBouncer in transaction mode (round robin); pools smaller than the
    concurrency, as in production."""
    import dj_database_url

    settings_dict = dict(dj_database_url.parse(bench_url))
    pool_size = max(1, options.concurrency // 2)
    with contextlib.ExitStack() as stack:
        pools = {
            f"pgbouncer-{mode}": stack.enter_context(
                running_pgbouncer(
                    settings_dict, mode, pool_size=pool_size, round_robin=mode == "transaction"
                )
            )
            for mode in ("session", "transaction")
        }
        urls = {"direct": bench_url} | {name: pool.database_url() for name, pool in pools.items()}
        servers = {name: stack.enter_context(uvicorn(url, host)) for name, url in urls.items()}
        token = servers["direct"].login(dataset.RECEPTIONIST_EMAIL, dataset.PASSWORD)
        result = suites.pooled_agenda(
            servers,
            pools,
            token,
            rounds=options.rounds,
            per_round=options.per_round,
            concurrency=options.concurrency,
        )
    result["pool_size"] = pool_size
    return result


def _statements(clinic: Clinic, host: str) -> dict[str, Any]:
    from django.test import Client

    response = Client().post(
        "/graphql",
        data={"query": LOGIN, "variables": {"e": dataset.DENTIST_EMAIL, "p": dataset.PASSWORD}},
        content_type="application/json",
        HTTP_HOST=host,
    )
    return suites.statements(clinic, response.json()["data"]["login"]["token"])


def _scale(server: Server, fingerprint: str, host: str, options: Any, *, log: Log) -> Any:
    databases = {
        count: server.url(_scale_database(server, fingerprint, count, options.workers, log=log))
        for count in options.clinics
    }
    for database_url in databases.values():
        _vacuum_catalogs(database_url)
    with contextlib.ExitStack() as stack:
        servers = {}
        for count, database_url in databases.items():
            http = stack.enter_context(uvicorn(database_url, host))
            servers[count] = (http, http.login(dataset.RECEPTIONIST_EMAIL, dataset.PASSWORD))
        scale = suites.agenda_latency(
            servers,
            count=options.latency_requests,
            warm=20 if options.quick else 50,
            rounds=5 if options.quick else 10,
        )
    base = scale[str(options.clinics[0])]["p50_ms"]
    for figures in scale.values():
        figures["p50_ratio"] = ratio(figures["p50_ms"], base)
    return scale


def _migrate(server: Server, fingerprint: str, clinics: int) -> dict[str, Any]:
    """(e) on the largest database of (d), twice in a row."""
    name = BENCH_DATABASE if clinics == 1 else f"{BENCH_DATABASE}_{clinics}"
    if server.comment(name) != f"{fingerprint}:{clinics}":
        raise RuntimeError(f"{name} was not built")
    url = server.url(name)
    return {
        "clinics": clinics,
        "first": suites.migrate_noop(url, timeout=3 * 3600),
        "again": suites.migrate_noop(url, timeout=3 * 3600),
    }


def _base_dataset(
    server: Server, fingerprint: str, shape: dataset.Shape, *, rebuild: bool, log: Log
) -> bool:
    """``dental_bench``: the public schema and the measured clinic. Reused when its comment
    holds this fingerprint."""
    if not rebuild and server.comment(BENCH_DATABASE) == f"{fingerprint}:1":
        log("data set: reused")
        return False
    log("data set: building (migrations, the measured clinic and its agenda)")
    connections.close_all()
    server.create(BENCH_DATABASE)
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    from tenants_core.services import public_tenant_ensure

    public_tenant_ensure()
    dataset.bench_clinic_build(shape)
    connections.close_all()
    _vacuum(server.url(BENCH_DATABASE), "VACUUM ANALYZE")
    server.set_comment(BENCH_DATABASE, f"{fingerprint}:1")
    return True


def _scale_database(server: Server, fingerprint: str, count: int, workers: int, *, log: Log) -> str:
    """A database holding the measured clinic and ``count - 1`` empty ones: a copy of the
    largest smaller one, topped up. Reused when it exists for this fingerprint."""
    if count == 1:
        return BENCH_DATABASE
    name = f"{BENCH_DATABASE}_{count}"
    if server.comment(name) == f"{fingerprint}:{count}":
        log(f"    {count} clinics: reused {name}")
        return name
    template, have = BENCH_DATABASE, 1
    for candidate in range(count - 1, 1, -1):
        if server.comment(f"{BENCH_DATABASE}_{candidate}") == f"{fingerprint}:{candidate}":
            template, have = f"{BENCH_DATABASE}_{candidate}", candidate
            break
    log(f"    {count} clinics: copying {template}, creating {count - have} clinics")
    began = time.monotonic()
    connections.close_all()
    server.create(name, template=template)
    _extra_clinics(server.url(name), have, count, workers)
    server.set_comment(name, f"{fingerprint}:{count}")
    log(f"    {count} clinics: ready in {time.monotonic() - began:.0f} s")
    return name


def _extra_clinics(database_url: str, first: int, stop: int, workers: int) -> None:
    """Extra clinics ``first..stop-1``, by ``workers`` processes. Their admins never sign in,
    so a fast hasher is fine."""
    env = child_env(database_url, PASSWORD_HASHERS="django.contrib.auth.hashers.MD5PasswordHasher")
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks",
                "--provision-worker",
                str(first + worker),
                str(stop),
                str(workers),
            ],
            cwd=ROOT,
            env=env,
        )
        for worker in range(min(workers, stop - first))
    ]
    failed = [process.args for process in processes if process.wait() != 0]
    if failed:
        raise RuntimeError(f"clinic creation failed: {failed}")


def _provisioning(server: Server, fingerprint: str, count: int) -> dict[str, Any]:
    """(c) in a child process, on a copy of ``dental_bench`` kept for (c) alone: the schemas
    it creates and drops leave dead catalog rows that would slow the databases of (d)."""
    name = f"{BENCH_DATABASE}_provisioning"
    if server.comment(name) != fingerprint:
        server.create(name, template=BENCH_DATABASE)
        server.set_comment(name, fingerprint)
    _vacuum_catalogs(server.url(name))
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--provision-timing", str(count)],
        cwd=ROOT,
        env=child_env(server.url(name)),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"provisioning failed: {completed.stderr[-3000:]}")
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


CATALOGS = (
    "pg_class", "pg_attribute", "pg_depend", "pg_type", "pg_constraint", "pg_index",
    "pg_namespace", "pg_attrdef", "pg_statistic", "pg_trigger", "pg_sequence",
)  # fmt: skip


def _vacuum_catalogs(database_url: str) -> None:
    """Every database measured in (d) starts with the same, clean catalogs."""
    _vacuum(database_url, "VACUUM ANALYZE " + ", ".join(f"pg_catalog.{c}" for c in CATALOGS))


def _vacuum(database_url: str, statement: str) -> None:
    import psycopg2

    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement)
    finally:
        conn.close()

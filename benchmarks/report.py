"""The results as a markdown table (stdout and ``docs/benchmarks.md``) and as JSON
(``bench-results/<UTC timestamp>.json``)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.database import ROOT

RESULTS_DIR = ROOT / "bench-results"
DOCS = ROOT / "docs" / "benchmarks.md"


def _verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "**missed**")


def _agenda(results: dict[str, Any], add: Callable[[str], None]) -> None:
    """(a), with the patient search and chart measured in the same rounds."""
    agenda = results["agenda"]
    add(f"### (a) Day agenda, {agenda['rows']} appointments with patient, professional, chair")
    add("")
    add(
        f"Same uvicorn process (1 worker), same data, same client: {agenda['rounds']} rounds × "
        f"{agenda['requests_per_round']} requests per endpoint, {agenda['concurrency']} in "
        "flight, endpoints rotating within each round. All three answers were checked equal "
        "before timing."
    )
    add("")
    add("| Endpoint | req/s median | req/s p95 | latency p50 (ms) | latency p95 (ms) |")
    add("|---|---:|---:|---:|---:|")
    labels = {
        "graphql": "GraphQL `appointments` (this API)",
        "django": "Hand-written Django view (ORM, select_related)",
        "json_agg": "One SQL statement (`json_agg`), the floor",
        "normal": "GraphQL, compiled reads off (graphql-core executes)",
    }
    for name, figures in agenda["endpoints"].items():
        add(
            f"| {labels[name]} | {figures['rps_median']} | {figures['rps_p95']} | "
            f"{figures['latency_p50_ms']} | {figures['latency_p95_ms']} |"
        )
    add("")
    add(
        "| Ratio (GraphQL ÷ reference, throughput per round) | median | p95 | reference "
        "(plain strawberry-django) | target |"
    )
    add("|---|---:|---:|---:|---|")
    django_ratio = agenda["graphql_vs_django"]["throughput_ratio_median"]
    add(
        f"| GraphQL ÷ Django view | {django_ratio} | "
        f"{agenda['graphql_vs_django']['throughput_ratio_p95']} | ~0.4× | ≥ 1.3×: "
        f"{_verdict(django_ratio >= 1.3)} |"
    )
    floor_ratio = agenda["graphql_vs_json_agg"]["throughput_ratio_median"]
    add(
        f"| GraphQL ÷ json_agg floor | {floor_ratio}"
        f" | {agenda['graphql_vs_json_agg']['throughput_ratio_p95']} | ~0.25× | ≥ 0.8×: "
        f"{_verdict(floor_ratio >= 0.8)} |"
    )
    if "graphql_vs_normal" in agenda:
        add(
            f"| GraphQL ÷ GraphQL with compiled reads off | "
            f"{agenda['graphql_vs_normal']['throughput_ratio_median']} | "
            f"{agenda['graphql_vs_normal']['throughput_ratio_p95']} | — | — |"
        )
    add("")
    _reads(agenda, add)


READS = {
    "patient_search": "Patient search (`patients`, a page of 20)",
    "patient_chart": "Patient chart (`patient`, `medicalHistory`, `odontogram`, `treatmentPlans`)",
}


def _reads(agenda: dict[str, Any], add: Callable[[str], None]) -> None:
    """(a), continued: the patient search and chart, measured in the agenda's rounds."""
    reads = {name: agenda[name] for name in READS if name in agenda}
    if not reads:
        return
    per_round = max(figures["requests_per_round"] for figures in reads.values())
    search = agenda.get("patient_search", {}).get("search", "")
    add(
        "In the same rounds, the patient search and the patient chart against hand-written "
        "Django views (the ORM through the same selectors, `only`, prefetches), "
        f"{per_round} requests per endpoint per round; each view's answer was checked equal "
        "to GraphQL's (keys in the same order) before timing. The search "
        f'(`search: "{search}"`) with the front desk\'s token, *rows* the patients on its '
        "page; the chart with a dentist's (the front desk may not read it), one patient's "
        "anamnesis, odontogram and treatment plans with "
        "their items, *rows* the teeth with findings."
    )
    add("")
    add(
        "| Read | rows | GraphQL req/s | Django view req/s | GraphQL p50 / p95 (ms) | "
        "Django view p50 / p95 (ms) | GraphQL ÷ Django view, median | p95 | target ≥ 1.0× | "
        "GraphQL ÷ compiled reads off, median |"
    )
    add("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for name, figures in reads.items():
        ours, theirs = figures["endpoints"]["graphql"], figures["endpoints"]["django"]
        ratio = figures["graphql_vs_django"]
        add(
            f"| {READS[name]} | {figures['rows']} | {ours['rps_median']} | "
            f"{theirs['rps_median']} | {ours['latency_p50_ms']} / {ours['latency_p95_ms']} | "
            f"{theirs['latency_p50_ms']} / {theirs['latency_p95_ms']} | "
            f"{ratio['throughput_ratio_median']} | {ratio['throughput_ratio_p95']} | "
            f"{_verdict(ratio['throughput_ratio_median'] >= 1.0)} | "
            f"{figures.get('graphql_vs_normal', {}).get('throughput_ratio_median', '—')} |"
        )
    add("")


def _statements(results: dict[str, Any], add: Callable[[str], None]) -> None:
    """(b)"""
    add("### (b) SQL statements per warm request (the second of two), in process")
    add("")
    add(
        "Tenant lookups: statements on `tenants_core_domain`/`_clinic`/`_plan`/"
        "`_routing_version`. Data includes the bearer-token lookup. *Kept*: the connection the "
        "previous request left (persistent or pooled connections); *new*: a fresh connection "
        "(`CONN_MAX_AGE=0`, as under uvicorn today), whose session set-up is counted apart. "
        "Schema selection: the transaction's first statement, `set_config('search_path', …, "
        "true)` with its timeout and the clinic's schema lock (one per request, whatever the "
        "connection). "
        "The routing cache's version check (at most once per process every "
        "`TENANT_CACHE_CHECK_SECONDS`) counts as a tenant lookup when it falls on the request."
    )
    add("")
    add(
        "| Operation | connection | total | tenant lookups | schema selection | session set-up "
        "| data | target: 0 lookups, ≤ 1 selection |"
    )
    add("|---|---|---:|---:|---:|---:|---:|---|")
    for name, by_connection in results["statements"].items():
        for which, figures in by_connection.items():
            ok = figures["tenant_lookup"] == 0 and figures["set_search_path"] <= 1
            add(
                f"| {name} | {which.split('_')[0]} | {figures['total']} | "
                f"{figures['tenant_lookup']} | {figures['set_search_path']} | "
                f"{figures['session_setup']} | {figures['data']} | {_verdict(ok)} |"
            )
    add("")


def _provisioning(results: dict[str, Any], add: Callable[[str], None]) -> None:
    """(c)"""
    provisioning = results["provisioning"]
    add(
        f"### (c) Provisioning one clinic with every app ({provisioning['count']} each, "
        "interleaved, after one warm-up each)"
    )
    add("")
    add("| Path | median (s) | p95 (s) | target ≤ 0.5 s median |")
    add("|---|---:|---:|---|")
    for mode, label in (
        ("migrations", "Migrations (`PROVISION_FROM_TEMPLATE=0`)"),
        ("template", "Template clone (`PROVISION_FROM_TEMPLATE=1`)"),
    ):
        figures = provisioning[mode]
        # The target is the fast path's; the migration path is the reference it is held to.
        verdict = _verdict(figures["median_s"] <= 0.5 if mode == "template" else None)
        add(f"| {label} | {figures['median_s']} | {figures['p95_s']} | {verdict} |")
    add(f"| Ratio template ÷ migrations (median) | {provisioning['ratio_median']} | | |")
    add("")
    add(
        f"Both paths include hashing the first ADMIN's password with the production hasher "
        f"(Argon2): {provisioning['admin_password_hash_s']} s of each."
    )
    if not provisioning["fast_path_available"]:
        add("")
        add(
            "The template path was not in the code when this ran: both rows are the migration path."
        )
    add("")


def _scale(results: dict[str, Any], add: Callable[[str], None]) -> None:
    """(d)"""
    scale = results["scale"]
    add(
        f"### (d) Agenda latency by clinics in the database "
        f"({results['settings']['latency_requests']} sequential requests, warm)"
    )
    add("")
    add(
        "One uvicorn per clinic count (a database each: `dental_bench_<n>`, the measured "
        "clinic plus empty ones), all running at once and taking turns in rounds."
    )
    add("")
    add("| Clinics | p50 (ms) | p95 (ms) | p50 ÷ p50 at 1 clinic | target ≤ 1.1× |")
    add("|---:|---:|---:|---:|---|")
    for count, figures in scale.items():
        add(
            f"| {int(count):,} | {figures['p50_ms']} | {figures['p95_ms']} | "
            f"{figures['p50_ratio']} | {_verdict(figures['p50_ratio'] <= 1.1)} |"
        )
    add("")


def _migrate(results: dict[str, Any], add: Callable[[str], None]) -> None:
    """(e)"""
    migrate = results["migrate"]
    target = "≤ 10 s" if migrate["clinics"] >= 1000 else "≤ 10 s at 1,000 (not measured here)"
    add(f"### (e) `migrate_schemas` with nothing to apply, {migrate['clinics']:,} clinics")
    add("")
    add(f"| Run | seconds | target {target} |")
    add("|---|---:|---|")
    for run in ("first", "again"):
        ok = migrate[run]["seconds"] <= 10 if migrate["clinics"] >= 1000 else None
        add(f"| {run} | {migrate[run]['seconds']} | {_verdict(ok)} |")
    add("")


def _pooling(results: dict[str, Any], add: Callable[[str], None]) -> None:
    """(f)"""
    pooling = results["pooling"]
    add("### (f) Day agenda through connection pools")
    add("")
    add(
        f"Three uvicorn processes (1 worker each) on the same data: straight to PostgreSQL, "
        f"through PgBouncer in session mode, through PgBouncer in transaction mode "
        f"(`server_round_robin = 1`); each pool has {pooling['pool_size']} server connections "
        f"for {pooling['concurrency']} requests in flight. {pooling['rounds']} rounds × "
        f"{pooling['requests_per_round']} GraphQL agenda requests per route, the routes "
        "rotating within each round. Server transactions and statements per request are "
        "PgBouncer's own counters (`SHOW STATS`)."
    )
    add("")
    add(
        "| Route | req/s median | ÷ direct (median per round) | latency p50 (ms) | "
        "latency p95 (ms) | server transactions / request | server statements / request |"
    )
    add("|---|---:|---:|---:|---:|---:|---:|")
    for name, figures in pooling["routes"].items():
        add(
            f"| {name} | {figures['rps_median']} | {figures['throughput_vs_direct_median']} | "
            f"{figures['latency_p50_ms']} | {figures['latency_p95_ms']} | "
            f"{figures.get('server_transactions_per_request', '—')} | "
            f"{figures.get('server_statements_per_request', '—')} |"
        )
    add("")


SECTIONS = {
    "agenda": ("(a) Day agenda, patient search and chart", _agenda),
    "statements": ("(b) SQL statements per request", _statements),
    "provisioning": ("(c) Provisioning", _provisioning),
    "scale": ("(d) Agenda latency by clinic count", _scale),
    "migrate": ("(e) No-op migrate_schemas", _migrate),
    "pooling": ("(f) Day agenda through connection pools", _pooling),
}


def markdown(results: dict[str, Any], *, command: str) -> str:
    lines: list[str] = []
    add = lines.append
    for key, (title, section) in SECTIONS.items():
        if key in results:
            section(results, add)
        else:
            error = results.get("errors", {}).get(key, "not run")
            add(f"### {title}: **failed**")
            add("")
            add(f"`{error.splitlines()[0] if error else 'not run'}`")
            add("")
    machine = results["machine"]
    add(
        f"Machine: {machine['cpus']} CPU cores shared by server, client and PostgreSQL "
        f"({machine['postgres']}), Python {machine['python']}, {machine['platform']}. "
        f"Data set {results['dataset']['fingerprint']} "
        f"({'rebuilt' if results['dataset']['rebuilt'] else 'reused'}). "
        f"Command: `{command}`, {results['total_seconds']} s."
    )
    return "\n".join(lines)


def write_json(results: dict[str, Any], *, command: str) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"{stamp}.json"
    path.write_text(json.dumps({"command": command, **results}, indent=2, default=str) + "\n")
    return path


def write_docs(results: dict[str, Any], *, command: str) -> None:
    header = [
        "# Benchmarks",
        "",
        f"Latest run: {results['started_at']} (UTC), `{command}`. Regenerated by "
        "`scripts/bench` (full runs; `--quick` leaves this file alone unless `--docs`).",
        "",
        "How it measures: a database of its own (`dental_bench`, plus `dental_bench_<n>` for "
        "the clinic counts), a fixed seeded data set, uvicorn with one worker and `DEBUG` off "
        "on loopback, and a bounded asyncio client (httpx). **Caveat:** the machine has "
        f"{results['machine']['cpus']} cores, shared by the server, the load generator and "
        "PostgreSQL, so absolute figures are low and noisy; the ratios, measured side by side "
        "in the same run, are what to compare. The JSON of every run is in `bench-results/`.",
        "",
    ]
    DOCS.parent.mkdir(exist_ok=True)
    kept = _kept_sections()
    DOCS.write_text("\n".join(header) + "\n" + markdown(results, command=command) + "\n" + kept)


KEPT = "<!-- Not written by scripts/bench: everything below this line is kept. -->"


def _kept_sections() -> str:
    """The part of docs/benchmarks.md measured by other means (validation cost), kept."""
    text = DOCS.read_text() if DOCS.exists() else ""
    return text[text.index(KEPT) :] if KEPT in text else ""

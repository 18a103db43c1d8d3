"""The measurements (a)–(f). Each returns plain data for the report."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test import Client, override_settings
from django_tenants.utils import schema_context
from strawberry.relay import to_base64

from backend.core.tenancy import clinic_context
from backend.patients.models import Patient
from benchmarks import dataset
from benchmarks.database import ROOT
from benchmarks.server import Request, Server, child_env, load
from benchmarks.side_by_side import Comparison, side_by_side
from benchmarks.stats import median, ms, p95, ratio
from benchmarks.views import AGENDA_QUERY
from benchmarks.views_patients import PATIENT_CHART, PATIENT_SEARCH
from graphql_api.core.ids import scoped_node_id
from tenants_core.models import Clinic

# The measured search: "Pérez" is in about a quarter of the data set's 400 patients' surnames.
SEARCH_TERM = "pér"
TENANT_TABLES = (
    "tenants_core_domain",
    "tenants_core_clinic",
    "tenants_core_plan",
    "tenants_core_routing_version",
)


def agenda_variables(first: int = 100) -> dict[str, Any]:
    since, until = dataset.day_window()
    return {"from": since.isoformat(), "to": until.isoformat(), "first": first}


def agenda_requests(token: str, server: Server) -> dict[str, Request]:
    """The same day agenda four ways: GraphQL, the hand-written view, the json_agg floor, and
    GraphQL with compiled reads off (graphql-core's normal execution)."""
    headers = {**server.headers, "Authorization": f"Bearer {token}"}
    variables = agenda_variables()
    return {
        "graphql": Request(
            "POST", "/graphql", headers, json={"query": AGENDA_QUERY, "variables": variables}
        ),
        "django": Request("GET", "/bench/agenda/django", headers, params=variables),
        "json_agg": Request("GET", "/bench/agenda/sql", headers, params=variables),
        "normal": Request(
            "POST",
            "/bench/graphql/normal",
            headers,
            json={"query": AGENDA_QUERY, "variables": variables},
        ),
    }


def patient_search_requests(token: str, server: Server) -> dict[str, Request]:
    """The same patient search (a page of 20): GraphQL, the hand-written view, and GraphQL
    with compiled reads off."""
    headers = {**server.headers, "Authorization": f"Bearer {token}"}
    variables = {"search": SEARCH_TERM, "first": 20}
    return {
        "graphql": Request(
            "POST", "/graphql", headers, json={"query": PATIENT_SEARCH, "variables": variables}
        ),
        "django": Request("GET", "/bench/patients/django", headers, params=variables),
        "normal": Request(
            "POST",
            "/bench/graphql/normal",
            headers,
            json={"query": PATIENT_SEARCH, "variables": variables},
        ),
    }


def patient_chart_requests(token: str, server: Server, patient_id: str) -> dict[str, Request]:
    """The same patient chart: GraphQL, the hand-written view, and GraphQL with compiled reads
    off (``token``: a role that reads clinical records)."""
    headers = {**server.headers, "Authorization": f"Bearer {token}"}
    variables = {"id": patient_id}
    return {
        "graphql": Request(
            "POST", "/graphql", headers, json={"query": PATIENT_CHART, "variables": variables}
        ),
        "django": Request("GET", "/bench/chart/django", headers, params=variables),
        "normal": Request(
            "POST",
            "/bench/graphql/normal",
            headers,
            json={"query": PATIENT_CHART, "variables": variables},
        ),
    }


def chart_patient_id(clinic: Clinic) -> str:
    """The global ID of the first patient with a treatment plan (the demo charts seeded by
    ``dataset.bench_clinic_build``: anamnesis, findings, a plan with items)."""
    with clinic_context(clinic):
        patient = Patient.objects.filter(treatment_plans__isnull=False).order_by("pk").first()
    if patient is None:
        raise RuntimeError("the data set has no patient with a treatment plan")
    return to_base64("Patient", scoped_node_id(str(patient.pk), str(clinic.pk)))


def agenda_throughput(
    server: Server,
    token: str,
    *,
    clinician_token: str,
    chart_patient: str,
    rounds: int,
    per_round: int,
    concurrency: int,
) -> dict[str, Any]:
    """(a) The agenda (``token``: the front desk's) against the Django view and the json_agg
    floor; in the same rounds, the patient search (the front desk's) and the patient chart
    (``clinician_token``'s, of ``chart_patient``) against their Django views, with half the
    requests per round. The agenda's figures at the top, as before; the others under
    ``patient_search`` and ``patient_chart``."""
    reads_per_round = max(10, per_round // 2)
    comparisons = {
        "agenda": Comparison(agenda_requests(token, server), ("appointments", "edges"), per_round),
        "patient_search": Comparison(
            patient_search_requests(token, server), ("patients", "edges"), reads_per_round
        ),
        "patient_chart": Comparison(
            patient_chart_requests(clinician_token, server, chart_patient),
            ("odontogram", "teeth"),
            reads_per_round,
        ),
    }
    measured = side_by_side(server, comparisons, rounds=rounds, concurrency=concurrency)
    agenda = measured.pop("agenda")
    measured["patient_search"]["search"] = SEARCH_TERM
    return {
        "rows": agenda.pop("rows"),
        "concurrency": concurrency,
        "rounds": rounds,
        **agenda,
        **measured,
    }


# --- (b) statements per request ------------------------------------------------------------

ME = "{ me { email fullName role } }"


def _classify(sql: str) -> str:
    text = sql.lstrip().lower()
    if text.startswith(("set search_path", "select set_config('search_path'")):
        return "set_search_path"
    if any(table in text for table in TENANT_TABLES):
        return "tenant_lookup"
    if text.startswith(("set ", "select set_config")):
        return "session_setup"
    return "data"


def _post(client: Client, host: str, query: str, variables: dict[str, Any], token: str) -> Any:
    response = client.post(
        "/graphql",
        data={"query": query, "variables": variables},
        content_type="application/json",
        HTTP_HOST=host,
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"{response.status_code} {json.dumps(body)[:500]}")
    return body


def _captured(
    client: Client, host: str, query: str, variables: dict[str, Any], token: str
) -> dict[str, Any]:
    captured: list[str] = []

    def capture(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        captured.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        _post(client, host, query, variables, token)
    kinds = [_classify(sql) for sql in captured]
    return {
        "total": len(kinds),
        **{
            kind: kinds.count(kind)
            for kind in ("tenant_lookup", "set_search_path", "session_setup", "data")
        },
        "statements": captured,
    }


def statements(clinic: Clinic, token: str) -> dict[str, Any]:
    """(b) Warm requests (after a first one), in process, every statement classified. Twice:
    on the connection the previous request left (what a persistent or pooled connection
    sees), and on a new connection (``CONN_MAX_AGE=0``, as under uvicorn today)."""
    host = f"{clinic.subdomain}.{settings.BASE_DOMAIN}"
    patient_id = chart_patient_id(clinic)
    operations: dict[str, tuple[str, dict[str, Any]]] = {
        "agenda (day, 100 rows)": (AGENDA_QUERY, agenda_variables()),
        "patient search": (PATIENT_SEARCH, {"search": SEARCH_TERM, "first": 20}),
        "patient chart": (PATIENT_CHART, {"id": patient_id}),
        "me": (ME, {}),
    }
    client = Client()  # Django's test client keeps the connection between requests
    result = {}
    for name, (query, variables) in operations.items():
        _post(client, host, query, variables, token)  # cold
        kept = _captured(client, host, query, variables, token)
        connection.close()
        result[name] = {
            "kept_connection": kept,
            "new_connection": _captured(client, host, query, variables, token),
        }
    return result


# --- (c) provisioning ------------------------------------------------------------------------


def provisioning(count: int) -> dict[str, Any]:
    """(c) ``clinic_provision`` under both settings, interleaved, after one warm-up each."""
    modes = {"migrations": False, "template": True}
    timings: dict[str, list[float]] = {mode: [] for mode in modes}
    for index in range(count + 1):
        for mode, from_template in modes.items():
            subdomain = f"bench-p{mode[0]}{index:03d}"
            with override_settings(PROVISION_FROM_TEMPLATE=from_template):
                began = time.perf_counter()
                clinic = dataset.clinic_create(subdomain)
                elapsed = time.perf_counter() - began
            with schema_context(settings.PUBLIC_SCHEMA_NAME):
                Clinic.objects.get(pk=clinic.pk).delete(force_drop=True)
            if index:  # the first of each is the warm-up (imports, template build)
                timings[mode].append(elapsed)
    result: dict[str, Any] = {
        "count": count,
        "fast_path_available": _fast_path_available(),
        "admin_password_hash_s": round(_password_hash_seconds(), 3),
    }
    for mode, values in timings.items():
        result[mode] = {"median_s": round(median(values), 3), "p95_s": round(p95(values), 3)}
    result["ratio_median"] = ratio(result["template"]["median_s"], result["migrations"]["median_s"])
    return result


def _password_hash_seconds() -> float:
    """What hashing the first ADMIN's password costs (part of both paths)."""
    samples = []
    for _ in range(3):
        began = time.perf_counter()
        make_password(dataset.PASSWORD)
        samples.append(time.perf_counter() - began)
    return median(samples)


def _fast_path_available() -> bool:
    """Whether the provisioning code reads ``PROVISION_FROM_TEMPLATE`` at all."""
    return any(
        "PROVISION_FROM_TEMPLATE" in path.read_text()
        for path in (ROOT / "tenants_core").glob("*.py")
    )


# --- (d) latency at scale, (e) no-op migrate ------------------------------------------------


def agenda_latency(
    servers: dict[int, tuple[Server, str]], *, count: int, warm: int, rounds: int
) -> dict[str, Any]:
    """(d) Sequential requests (one in flight: latency, not throughput) to one uvicorn per
    clinic count, all running at once; the counts take turns in ``rounds`` rounds, so that
    whatever else the machine does falls on all of them alike."""
    requests = {n: agenda_requests(token, http)["graphql"] for n, (http, token) in servers.items()}
    for n, (http, _) in servers.items():
        load(http, requests[n], count=warm, concurrency=1)
    latencies: dict[int, list[float]] = {n: [] for n in servers}
    order = list(servers)
    for index in range(rounds):
        for n in order[index % len(order) :] + order[: index % len(order)]:
            run = load(servers[n][0], requests[n], count=max(1, count // rounds), concurrency=1)
            latencies[n] += run.latencies
    return {
        str(n): {"requests": len(values), "p50_ms": ms(median(values)), "p95_ms": ms(p95(values))}
        for n, values in latencies.items()
    }


def migrate_noop(database_url: str, *, timeout: float) -> dict[str, Any]:
    """``manage.py migrate_schemas`` on a database where every schema is up to date."""
    began = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "manage.py", "migrate_schemas", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=child_env(database_url),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    elapsed = time.perf_counter() - began
    if completed.returncode != 0:
        raise RuntimeError(f"migrate_schemas failed: {completed.stderr[-2000:]}")
    return {"seconds": round(elapsed, 2)}


# --- (f) the agenda through connection pools -------------------------------------------------

POOL_ROUTES = ("direct", "pgbouncer-session", "pgbouncer-transaction")


def pooled_agenda(
    servers: dict[str, Server],
    pools: dict[str, Any],
    token: str,
    *,
    rounds: int,
    per_round: int,
    concurrency: int,
) -> dict[str, Any]:
    """(f) The GraphQL agenda on three uvicorn processes, one per route to PostgreSQL, in
    rounds with the routes' order rotating, so that all three see the same machine at the
    same time. Through PgBouncer, its own counters say how many transactions and statements
    each request cost the server."""
    requests = {name: agenda_requests(token, server)["graphql"] for name, server in servers.items()}
    for name, server in servers.items():  # warm: imports, routing cache, plans
        load(server, requests[name], count=max(20, per_round // 5), concurrency=concurrency)
    runs: dict[str, list[Any]] = {name: [] for name in POOL_ROUTES}
    before = {name: pool.stats() for name, pool in pools.items()}
    for index in range(rounds):
        for name in POOL_ROUTES[index % 3 :] + POOL_ROUTES[: index % 3]:
            runs[name].append(
                load(servers[name], requests[name], count=per_round, concurrency=concurrency)
            )
    sent = rounds * per_round
    result: dict[str, Any] = {
        "concurrency": concurrency,
        "rounds": rounds,
        "requests_per_round": per_round,
        "routes": {},
    }
    for name in POOL_ROUTES:
        latencies = [latency for run in runs[name] for latency in run.latencies]
        figures: dict[str, Any] = {
            "rps_median": round(median([run.throughput for run in runs[name]]), 1),
            "latency_p50_ms": ms(median(latencies)),
            "latency_p95_ms": ms(p95(latencies)),
            "throughput_vs_direct_median": round(
                median(
                    [
                        ours.throughput / direct.throughput
                        for ours, direct in zip(runs[name], runs["direct"], strict=True)
                    ]
                ),
                2,
            ),
        }
        if name in pools:
            after = pools[name].stats()
            figures["server_transactions_per_request"] = round(
                (after["total_xact_count"] - before[name]["total_xact_count"]) / sent, 2
            )
            figures["server_statements_per_request"] = round(
                (after["total_query_count"] - before[name]["total_query_count"]) / sent, 2
            )
        result["routes"][name] = figures
    return result

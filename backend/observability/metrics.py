"""The Prometheus metrics of the web tier, and their exposition.

Request metrics are labelled by route, GraphQL operation, plan and outcome (``labels``): never
by clinic. Job and database gauges are read from PostgreSQL when Prometheus scrapes
(``collector``), since the workers are other processes.

With ``PROMETHEUS_MULTIPROC_DIR`` set (uvicorn ``--workers N``), prometheus_client writes each
process's values to files in that directory and the scrape, served by any worker, adds them
up (prometheus_client's multiprocess mode). The directory must exist, be writable, and be
emptied before the server starts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from backend.observability.collector import DatabaseCollector

# The metrics of this process. Not prometheus_client's global registry: nothing else (a
# library) can add series to our exposition behind our back.
REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "dental_http_requests",
    "HTTP requests served, by route, GraphQL operation, plan and outcome.",
    ["route", "operation", "plan", "outcome"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "dental_http_request_duration_seconds",
    "Time to answer an HTTP request, by route, GraphQL operation and plan.",
    ["route", "operation", "plan"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
GRAPHQL_ERRORS = Counter(
    "dental_graphql_errors",
    "Errors in GraphQL answers, by operation, plan and code (INTERNAL_ERROR: a masked bug).",
    ["operation", "plan", "code"],
    registry=REGISTRY,
)
COMPILED_READS = Counter(
    "dental_graphql_compiled_reads",
    "GraphQL queries answered by one compiled statement, or declined to the normal execution.",
    ["outcome"],
    registry=REGISTRY,
)
COMPILED_PLANS = Gauge(
    "dental_graphql_compiled_plans",
    "Entries of the compiled-read plan cache (bounded by GRAPHQL_COMPILED_PLANS), by kind.",
    ["kind"],
    multiprocess_mode="livesum",
    registry=REGISTRY,
)

# Outcomes: the request's status and, for GraphQL, its errors.
OK, REFUSED, ERROR = "ok", "refused", "error"
_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
SERVER_CODES = {"INTERNAL_ERROR", "DATABASE_UNAVAILABLE"}


def error_code(code: str) -> str:
    """A code as a label value: our codes are bounded enums; anything else is ``other``."""
    return code if _CODE.match(code) else "other"


def outcome(status: int, codes: list[str]) -> str:
    if status >= 500 or SERVER_CODES.intersection(codes):
        return ERROR
    if status >= 400 or codes:
        return REFUSED
    return OK


def record(
    *, route: str, operation: str, plan: str, status: int, codes: list[str], seconds: float
) -> None:
    """One request served."""
    REQUESTS.labels(route, operation, plan, outcome(status, codes)).inc()
    LATENCY.labels(route, operation, plan).observe(seconds)
    for code in codes:
        GRAPHQL_ERRORS.labels(operation, plan, error_code(code)).inc()


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition() -> bytes:
    """The text exposition of every metric: this process's (or every worker's, in
    multiprocess mode) and the database's, read now."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_ProcessMetrics())
    registry.register(DatabaseCollector())
    return generate_latest(registry)


class _ProcessMetrics:
    """This process's own registry, as one collector of a scrape's registry."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()

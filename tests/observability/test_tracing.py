"""OpenTelemetry tracing: off by default (nothing installed); with
``OTEL_EXPORTER_OTLP_ENDPOINT`` a real request under uvicorn exports one trace over OTLP/HTTP
(to a collector stand-in on loopback): Django's request span with the clinic and the request
id, strawberry's operation, parsing, validation and resolver spans under it, and psycopg2's
statement spans, without the query's variables anywhere."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db.backends.signals import connection_created
from opentelemetry import trace

from backend.observability import tracing
from graphql_api.core.observability import PrivateOpenTelemetry
from graphql_api.schema import schema
from tests.conftest import http_login, running_uvicorn
from tests.observability.capture_server import (
    CaptureServer,
    exported_spans,
    running_capture_server,
)

CLINIC_HOST = "clinica1.localhost"
SEARCH = "Quispe-Trazado"
QUERY = """
query PatientsTraced($s: String) { patients(first: 2, search: $s) { totalCount } }
"""


def _wait_for_trace(collector: CaptureServer, request_id: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        spans = exported_spans(collector)
        roots = [s for s in spans if s["attributes"].get("request.id") == request_id]
        if roots:
            # The request span ends last; give the statement spans' batch a moment too.
            time.sleep(0.5)
            spans = exported_spans(collector)
            return [s for s in spans if s["trace"] == roots[0]["trace"]]
        time.sleep(0.1)
    raise AssertionError(f"no trace for {request_id}: {exported_spans(collector)}")


def test_a_request_exports_one_trace_with_django_strawberry_and_psycopg2_spans(
    django_db_blocker,
):
    with (
        running_capture_server() as collector,
        running_uvicorn(
            django_db_blocker,
            env={"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_BSP_SCHEDULE_DELAY": "100"},
        ) as server,
    ):
        token = http_login(server, CLINIC_HOST, "admin@clinica1.pe")["token"]
        response = server.post(
            CLINIC_HOST,
            {"query": QUERY, "variables": {"s": SEARCH}},
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-traced-1"},
        )
        assert response.status_code == 200, response.text
        assert "errors" not in response.json(), response.text
        spans = _wait_for_trace(collector, "req-traced-1")

    by_id = {s["id"]: s for s in spans}
    (root,) = [s for s in spans if not s["parent"] or s["parent"] not in by_id]
    assert root["attributes"]["request.id"] == "req-traced-1"
    assert root["attributes"]["clinic"] == "clinica1"
    assert root["kind"] == 2  # SERVER: Django's request span
    assert "graphql" in root["name"]

    def children(span: dict[str, Any]) -> list[dict[str, Any]]:
        return [s for s in spans if s["parent"] == span["id"]]

    (operation,) = [s for s in children(root) if s["name"] == "GraphQL Operation"]
    assert operation["attributes"]["graphql.operation.name"] == "PatientsTraced"
    phases = {s["name"] for s in children(operation)}
    # ``patients`` is a compiled read (graphql_api/core/compiled): one span for its statement
    # where graphql-core's resolving would be.
    assert {"GraphQL Parsing", "GraphQL Validation", "GraphQL Compiled: patients"} <= phases

    statements = [s for s in spans if s["attributes"].get("db.system") == "postgresql"]
    assert statements, spans
    assert all(s["kind"] == 3 for s in statements)  # CLIENT
    (resolving,) = [s for s in spans if s["name"] == "GraphQL Compiled: patients"]

    def ancestors(span: dict[str, Any]) -> list[str]:
        found = []
        while span["parent"] in by_id:
            span = by_id[span["parent"]]
            found.append(span["id"])
        return found

    assert any(resolving["id"] in ancestors(s) for s in statements), (
        "no statement under the compiled read"
    )
    # Never the variables or the document's text: they carry patient data.
    exported = repr(spans)
    assert SEARCH not in exported
    assert "query PatientsTraced" not in exported
    assert token not in exported


def test_tracing_is_off_by_default():
    assert not settings.TRACING_ENABLED
    assert not tracing.configure()
    # No SDK provider: the API's proxy, whose tracers make non-recording spans.
    assert type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider"
    assert not any("opentelemetry" in m for m in settings.MIDDLEWARE)
    uid = "observability.tracing.psycopg2"
    assert not any(uid in str(receiver) for receiver in connection_created.receivers)
    assert not any(
        isinstance(e, type) and issubclass(e, PrivateOpenTelemetry) for e in schema.extensions
    )
    assert not trace.get_current_span().is_recording()

"""Tracing with the SDK's in-memory exporter, as the issue asks: a child process (a tracer
provider is global and set once, so never in the test process) turns tracing on, adds an
``InMemorySpanExporter`` to the provider the app installed, serves one GraphQL request through
Django's whole stack and prints the finished spans. ``test_tracing.py`` does the same over
uvicorn with the real OTLP exporter."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

from tests.conftest import ROOT, child_env

CHILD = textwrap.dedent(
    """
    import json, os, sys

    import django

    django.setup()
    from django.test import Client
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(memory))
    client = Client(HTTP_HOST="clinica1.localhost")
    response = client.post(
        "/graphql",
        data=json.dumps({
            "query": sys.argv[1],
            "variables": {"email": "quispe.oculto@example.pe", "password": "Quispe-Oculto-9"},
        }),
        content_type="application/json",
    )
    spans = [
        {
            "name": span.name,
            "id": span.context.span_id,
            "trace": span.context.trace_id,
            "parent": span.parent.span_id if span.parent else None,
            "kind": span.kind.name,
            "attributes": {key: str(value) for key, value in span.attributes.items()},
        }
        for span in memory.get_finished_spans()
    ]
    print(json.dumps({
        "status": response.status_code,
        "request_id": response["X-Request-ID"],
        "body": response.json(),
        "spans": spans,
    }))
    sys.stdout.flush()
    os._exit(0)  # the OTLP batch exporter (to a closed port) is never flushed
    """
)
# A failed sign-in: the variables carry an email and a password that no span may hold.
QUERY = """
mutation SignIn($email: String!, $password: String!) {
  login(email: $email, password: $password) { __typename }
}"""


def _run(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        env = child_env(
            # Tracing on; the app's own OTLP exporter points at a closed port and never sends.
            OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9",
            OTEL_BSP_SCHEDULE_DELAY="600000",
        )
    done = subprocess.run(
        [sys.executable, "-c", CHILD, QUERY],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_one_request_is_one_trace_with_clinic_request_id_graphql_and_sql(
    django_db_setup, django_db_blocker
):
    result = _run(django_db_blocker)

    assert result["status"] == 200, result["body"]
    assert result["body"]["data"]["login"]["__typename"] == "OperationInfo"
    spans = result["spans"]
    roots = [s for s in spans if s["parent"] is None]
    assert len(roots) == 1, [s["name"] for s in spans]
    root = roots[0]
    assert root["kind"] == "SERVER"
    assert root["attributes"]["clinic"] == "clinica1"
    assert root["attributes"]["request.id"] == result["request_id"]
    assert {s["trace"] for s in spans} == {root["trace"]}
    by_id = {s["id"]: s for s in spans}

    def under_root(span: dict[str, Any]) -> bool:
        while span["parent"] is not None:
            span = by_id[span["parent"]]
        return span is root

    assert all(under_root(s) for s in spans)
    graphql = [s for s in spans if s["name"].startswith("GraphQL")]
    assert graphql, [s["name"] for s in spans]
    statements = [s for s in spans if s["kind"] == "CLIENT" and "db.system" in s["attributes"]]
    assert statements, [s["name"] for s in spans]
    assert {s["attributes"]["db.system"] for s in statements} == {"postgresql"}
    # Neither the variables nor the document's text ride on any span.
    everything = json.dumps(spans)
    assert "Quispe-Oculto" not in everything
    assert "quispe.oculto" not in everything
    assert "login(email" not in everything

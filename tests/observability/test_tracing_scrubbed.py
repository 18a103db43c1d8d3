"""What the traces export is scrubbed (``backend/observability/scrubbing.py``), over real HTTP
to the OTLP collector stand-in: a database error quoting a patient (a trigger's message, a
``DETAIL``) leaves no message, stack or status description in any span or event; a URL with a
capability token or a GraphQL GET's variables never becomes an attribute; nor the user agent
or the client's address."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.conftest import LiveServer, http_login, running_uvicorn
from tests.observability.capture_server import (
    CaptureServer,
    exported_spans,
    running_capture_server,
)
from tests.observability.test_sentry import (
    CREATE_PATIENT,
    DNI,
    FIRST,
    LAST,
    PATIENT_EMAIL,
    PATIENT_INPUT,
    PHONE,
    _break_patient_inserts,
)

SUBDOMAIN = "trace-scrub"
HOST = f"{SUBDOMAIN}.localhost"
AGENT = "Navegador-Secreto/9.9"
URL_KEYS = {"http.url", "http.target", "url.full", "url.path", "url.query"}
PEER_KEYS = {"http.user_agent", "user_agent.original", "net.peer.ip", "client.address"}


def _trace(collector: CaptureServer, request_id: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        roots = [
            s for s in exported_spans(collector) if s["attributes"].get("request.id") == request_id
        ]
        if roots:
            time.sleep(0.5)  # the statement spans' batch too
            return [s for s in exported_spans(collector) if s["trace"] == roots[0]["trace"]]
        time.sleep(0.1)
    raise AssertionError(f"no trace for {request_id}: {exported_spans(collector)}")


@contextmanager
def _traced(django_db_blocker: Any) -> Iterator[tuple[CaptureServer, LiveServer]]:
    with (
        running_capture_server() as collector,
        running_uvicorn(
            django_db_blocker,
            env={"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_BSP_SCHEDULE_DELAY": "100"},
        ) as server,
    ):
        yield collector, server


def _absent(collector: CaptureServer, spans: list[dict[str, Any]], *secrets: str) -> None:
    """Not in the parsed spans, nor anywhere in the bytes that were sent."""
    raw = b"".join(collector.envelopes)
    parsed = repr(spans)
    for secret in secrets:
        assert secret.encode() not in raw, secret
        assert secret not in parsed, secret
    for span in spans:
        assert not (URL_KEYS | PEER_KEYS) & span["attributes"].keys(), span


def test_a_database_error_quoting_a_patient_leaves_no_trace_of_them(
    django_db_blocker, committed_clinic
):
    clinic = committed_clinic(SUBDOMAIN)
    _break_patient_inserts(clinic, django_db_blocker)
    variables = {"input": PATIENT_INPUT}
    with _traced(django_db_blocker) as (collector, server):
        token = http_login(server, HOST, f"admin@{SUBDOMAIN}.pe")["token"]
        response = server.post(
            HOST,
            {"query": CREATE_PATIENT, "variables": variables},
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-trace-scrub-1"},
        )
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == "INTERNAL_ERROR"
        spans = _trace(collector, "req-trace-scrub-1")

    # The failure is still visible: an exception event with its type, an error status.
    exceptions = [attrs for s in spans for name, attrs in s["events"] if name == "exception"]
    assert exceptions, spans
    assert all(set(attrs) <= {"exception.type", "exception.escaped"} for attrs in exceptions)
    assert any("InternalError" in str(attrs.get("exception.type")) for attrs in exceptions)
    assert any(s["status"][0] == 2 for s in spans)  # STATUS_CODE_ERROR
    assert all(s["status"][1] == "" for s in spans)
    _absent(
        collector, spans, FIRST, LAST, "Quispe", DNI, PHONE, "987 654", PATIENT_EMAIL,
        "cannot store patient", "Key (", "Traceback", token,
    )  # fmt: skip


def test_a_file_link_token_never_leaves_in_a_span(django_db_blocker):
    secret = "SecretoDeArchivo0123456789abcdefXYZ"
    with _traced(django_db_blocker) as (collector, server):
        response = server.request(
            "GET",
            f"/files/{secret}",
            "clinica1.localhost",
            headers={"X-Request-ID": "req-trace-file-1", "User-Agent": AGENT},
        )
        assert response.status_code in {403, 404, 410}, response.text
        spans = _trace(collector, "req-trace-file-1")
    (root,) = [s for s in spans if s["attributes"].get("request.id") == "req-trace-file-1"]
    assert root["attributes"]["http.route"] == "files/<str:token>"
    _absent(collector, spans, secret, AGENT)


def test_a_graphql_get_query_and_its_variables_never_leave_in_a_span(django_db_blocker):
    secret = "Quispe-Secreto-Get"
    with _traced(django_db_blocker) as (collector, server):
        response = server.request(
            "GET",
            "/graphql",
            "clinica1.localhost",
            params={
                "query": "query Buscar($s: String) { patients(first: 1, search: $s) { totalCount } }",
                "variables": f'{{"s": "{secret}"}}',
            },
            headers={"X-Request-ID": "req-trace-get-1", "User-Agent": AGENT},
        )
        assert response.status_code == 200, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        spans = _trace(collector, "req-trace-get-1")
    _absent(collector, spans, secret, "Buscar(", "patients(first", AGENT)

"""``/metrics`` over real HTTP (uvicorn): protected by a bearer token or allowed networks, off
without either, answered whatever the Host, labelled by operation and plan and never by
clinic; job and database gauges read at scrape time; GraphQL errors counted by code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.db import connection
from procrastinate.contrib.django import app as jobs_app

from tests.conftest import LiveServer, http_login, running_uvicorn

TOKEN = "metrics-scrape-token-0123456789"
CLINIC_HOST = "clinica1.localhost"  # seed clinic, plan "professional"
PROBE_QUEUE = "observability_probe"
SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


def _scrape(server: LiveServer, host: str = "localhost", **headers: str) -> httpx.Response:
    return server.request("GET", "/metrics", host, headers=headers)


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    found = []
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match and match["name"] == name:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"] or ""))
            found.append((labels, float(match["value"])))
    return found


def _value(text: str, name: str, **wanted: str) -> float:
    return sum(v for labels, v in _samples(text, name) if wanted.items() <= labels.items())


@pytest.fixture(scope="module")
def token_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[LiveServer]:
    with running_uvicorn(django_db_blocker, env={"METRICS_TOKEN": TOKEN}) as server:
        yield server


@pytest.fixture(scope="module")
def network_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[LiveServer]:
    """Behind a trusted proxy (the test, on loopback): the allowed client is 203.0.113.0/24."""
    env = {"METRICS_ALLOWED_IPS": "203.0.113.0/24", "TRUSTED_PROXIES": "127.0.0.1"}
    with running_uvicorn(django_db_blocker, env=env) as server:
        yield server


def _bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_metrics_are_off_without_a_token_or_networks(uvicorn_server):
    response = _scrape(uvicorn_server, **_bearer())
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert "dental_" not in response.text


def test_metrics_without_the_token_are_refused(token_server):
    response = _scrape(token_server)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "dental_" not in response.text


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "Bearer"],
)
def test_metrics_with_a_wrong_token_are_refused(token_server, authorization):
    response = _scrape(token_server, Authorization=authorization)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "host",
    ["localhost", CLINIC_HOST, "cerrada.localhost", "nadie.localhost", "10.0.0.7", "x.example"],
)
def test_metrics_answer_whatever_the_host(token_server, host):
    # A suspended clinic, an unknown subdomain and a host Django does not allow at all: the
    # scrape never reaches the clinic routing.
    response = _scrape(token_server, host, **_bearer())
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "dental_metrics_database_up 1.0" in response.text
    assert response.headers["X-Request-ID"]


def test_a_clinic_operation_is_counted_by_operation_and_plan_never_by_clinic(token_server):
    token = http_login(token_server, CLINIC_HOST, "admin@clinica1.pe")["token"]
    before = _scrape(token_server, **_bearer()).text
    query = "query PatientCountForMetrics { patients(first: 1) { totalCount } }"
    for _ in range(3):
        answer = token_server.post(CLINIC_HOST, {"query": query}, headers=_bearer(token))
        assert answer.status_code == 200, answer.text
        assert "errors" not in answer.json(), answer.text
    # An anonymous operation: its first root field, which the schema bounds.
    anonymous = token_server.post(CLINIC_HOST, {"query": "{ me { id } }"}, headers=_bearer(token))
    assert anonymous.status_code == 200, anonymous.text

    after = _scrape(token_server, **_bearer()).text
    labels = {"route": "graphql", "operation": "PatientCountForMetrics", "plan": "professional"}
    assert (
        _value(after, "dental_http_requests_total", **labels, outcome="ok")
        - _value(before, "dental_http_requests_total", **labels, outcome="ok")
        == 3
    )
    assert _value(after, "dental_http_request_duration_seconds_count", **labels) >= 3
    assert _value(after, "dental_http_requests_total", operation="me", plan="professional") >= 1
    # The login on the same clinic is counted too; no series names a clinic.
    assert _value(after, "dental_http_requests_total", operation="login", plan="professional") >= 1
    assert "clinica1" not in after
    assert "clinic=" not in after
    assert "subdomain" not in after


def test_unbounded_operation_names_do_not_become_labels(token_server):
    weird = "x" * 65  # longer than a GraphQL name may be here
    query = f"query {weird} {{ me {{ id }} }}"
    token_server.post(CLINIC_HOST, {"query": query, "operationName": weird})
    scraped = _scrape(token_server, **_bearer()).text
    assert weird not in scraped


def test_other_paths_are_labelled_by_route_and_platform_or_no_plan(token_server):
    token_server.request("GET", "/healthz", "localhost")
    token_server.request("GET", "/no/such/path/123", CLINIC_HOST)
    token_server.request("GET", "/healthz", "nadie.localhost")  # no clinic answers
    scraped = _scrape(token_server, **_bearer()).text
    assert _value(scraped, "dental_http_requests_total", route="healthz", plan="platform") >= 1
    assert (
        _value(scraped, "dental_http_requests_total", route="unmatched", plan="professional") >= 1
    )
    assert _value(scraped, "dental_http_requests_total", route="unrouted", plan="none") >= 1
    assert "/no/such/path" not in scraped


def test_coded_graphql_errors_are_counted_by_code(token_server):
    before = _scrape(token_server, **_bearer()).text
    query = "query NoTokenPatients { patients(first: 1) { totalCount } }"
    refused = token_server.post(CLINIC_HOST, {"query": query})
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    invalid = token_server.post(CLINIC_HOST, {"query": "query Broken { nope }"})
    assert invalid.status_code == 400

    after = _scrape(token_server, **_bearer()).text
    wanted = {"operation": "NoTokenPatients", "plan": "professional", "code": "UNAUTHENTICATED"}
    assert (
        _value(after, "dental_graphql_errors_total", **wanted)
        - _value(before, "dental_graphql_errors_total", **wanted)
        == 1
    )
    assert (
        _value(after, "dental_http_requests_total", operation="NoTokenPatients", outcome="refused")
        >= 1
    )
    # Refused before execution: labelled invalid, never by the name it claimed.
    broken = {"operation": "invalid", "code": "GRAPHQL_VALIDATION_FAILED"}
    assert _value(after, "dental_graphql_errors_total", **broken) >= 1
    assert 'operation="Broken"' not in after


def test_names_of_documents_that_never_ran_do_not_fill_the_label_cap(django_db_blocker):
    """With a cap of 2 names, 12 junk names sent with unparseable, invalid or too-deep
    documents take none of it: the next real operations still get their own labels."""
    env = {"METRICS_TOKEN": TOKEN, "METRICS_MAX_OPERATIONS": "2"}
    junk = [
        "query",  # unparseable
        "query Junk { nope }",  # invalid
        "query Junk { patients(first: 1) { totalCount } } query Other { me { id } }",
        "{ " + "me { " * 40 + "id" + " }" * 41,  # over the depth limit
    ]
    with running_uvicorn(django_db_blocker, env=env) as server:
        for i in range(12):
            body = {"query": junk[i % len(junk)], "operationName": f"JunkName{i}"}
            response = server.post(CLINIC_HOST, body)
            assert response.json()["errors"], response.text
        for name in ("RealAfterJunkOne", "RealAfterJunkTwo"):
            response = server.post(
                CLINIC_HOST, {"query": f"query {name} {{ patients(first: 1) {{ totalCount }} }}"}
            )
            assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        scraped = _scrape(server, **_bearer()).text
    assert "JunkName" not in scraped
    assert _value(scraped, "dental_http_requests_total", operation="invalid") >= 12
    assert _value(scraped, "dental_http_requests_total", operation="RealAfterJunkOne") == 1
    assert _value(scraped, "dental_http_requests_total", operation="RealAfterJunkTwo") == 1
    assert _value(scraped, "dental_http_requests_total", operation="other") == 0


@pytest.fixture
def probe_jobs(django_db_blocker: Any) -> Iterator[None]:
    """Three jobs in a queue of their own, due in a year (no worker of another test runs
    them), deleted afterwards."""
    with django_db_blocker.unblock():
        task = jobs_app.configure_task(
            "tests.observability.probe", queue=PROBE_QUEUE, schedule_in={"days": 365}
        )
        for _ in range(3):
            task.defer()
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE queue_name = %s", [PROBE_QUEUE])


def test_job_queue_depth_and_database_connections_are_read_at_scrape_time(token_server, probe_jobs):
    scraped = _scrape(token_server, **_bearer()).text
    assert _samples(scraped, "dental_jobs")
    assert _value(scraped, "dental_jobs", queue=PROBE_QUEUE, status="todo") == 3
    assert _value(scraped, "dental_jobs", queue=PROBE_QUEUE, status="doing") == 0
    assert _value(scraped, "dental_db_connections", state="active") >= 1  # the scrape's own
    assert _value(scraped, "dental_db_max_connections") >= 10


def test_metrics_from_an_allowed_network_through_a_trusted_proxy(network_server):
    allowed = _scrape(network_server, "10.9.9.9", **{"X-Forwarded-For": "203.0.113.7"})
    assert allowed.status_code == 200, allowed.text
    assert "dental_http_requests_total" in allowed.text or "dental_jobs" in allowed.text


def test_metrics_from_another_network_are_refused(network_server):
    refused = _scrape(network_server, **{"X-Forwarded-For": "198.51.100.1"})
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # The proxy itself (no forwarded address) is not the allowed client either.
    assert _scrape(network_server).status_code == 403


def test_with_several_workers_every_scrape_adds_up_every_worker(django_db_blocker, tmp_path):
    """uvicorn --workers 2 with PROMETHEUS_MULTIPROC_DIR: whichever worker answers the scrape,
    it counts the requests that both served."""
    env = {"METRICS_TOKEN": TOKEN, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    query = {"query": "query MultiWorkerProbe { me { id } }"}
    with running_uvicorn(django_db_blocker, workers=2, env=env) as server:
        sent = 0
        # Fresh connections until both workers have counted some (one values file each).
        while sent < 20 or (len(list(tmp_path.glob("counter_*.db"))) < 2 and sent < 300):
            with httpx.Client() as client:
                answer = client.post(
                    f"{server.url}/graphql", json=query, headers={"Host": CLINIC_HOST}, timeout=10
                )
            assert answer.status_code == 200, answer.text
            sent += 1
        totals = {
            _value(
                _scrape(server, **_bearer()).text,
                "dental_http_requests_total",
                operation="MultiWorkerProbe",
            )
            for _ in range(6)
        }
    assert len(list(tmp_path.glob("counter_*.db"))) == 2  # one file per worker
    assert totals == {float(sent)}

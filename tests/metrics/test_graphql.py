"""clinicMetrics and platformMetrics over real HTTP (uvicorn) on the public host: what they
answer from committed rollup rows, and every refusal (no token, a clinic's token, the clinic's
domain, bad ranges, an unknown subdomain). Statements are the same for 1 day and 300 days."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.core.tenancy import clinic_context
from backend.metrics.models import ClinicDayMetrics
from backend.metrics.rollup import clinic_day_rollup
from tenants_core.models import Clinic
from tests.conftest import PLATFORM_ADMIN_EMAIL, error_code, graphql, host_for, http_login
from tests.factories import PatientFactory

CLINIC_METRICS = """
query($s: String!, $from: Date!, $to: Date!) {
  clinicMetrics(subdomain: $s, from: $from, to: $to) {
    day patients newPatients users noShowRate paymentsCollected { amount currency } plan status
    storageBytes computedAt
  }
}"""
PLATFORM_METRICS = """
query($from: Date!, $to: Date!) {
  platformMetrics(from: $from, to: $to) {
    from to newClinics suspensions churnedClinics mrr { amount currency }
    clinicsByPlan { plan count } clinicsByStatus { status count }
    mrrSeries { day amount { amount currency } }
    nearestLimits { clinic { subdomain } ratio users maxUsers patients maxPatients }
    inactiveClinics { clinic { subdomain } lastActivityAt } inactiveCount
  }
}"""
DAY = dt.date(2024, 7, 1)


@pytest.fixture
def rolled_up(committed_clinic: Any, django_db_blocker: Any) -> Any:
    """A committed clinic with 3 patients created on DAY (Lima) and DAY..DAY+2 rolled up."""
    clinic = committed_clinic("metricas-http")
    with django_db_blocker.unblock():
        with clinic_context(clinic):
            for n in range(3):
                PatientFactory(created_at=dt.datetime(2024, 7, 1, 15, n, tzinfo=dt.UTC))
        connection.set_schema_to_public()
        # Opened before the days rolled up (a day before a clinic existed has no row), and
        # long enough ago to count as inactive.
        Clinic.objects.filter(pk=clinic.pk).update(
            created_at=dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
        )
        clinic.refresh_from_db()
        for offset in range(3):
            clinic_day_rollup(clinic=clinic, day=DAY + dt.timedelta(days=offset))
    return clinic


@pytest.fixture
def root_token(uvicorn_server: Any) -> str:
    login = http_login(uvicorn_server, host_for(None), PLATFORM_ADMIN_EMAIL)
    return str(login["token"])


def _post(server: Any, host: str, query: str, variables: dict[str, Any], token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = server.post(host, {"query": query, "variables": variables}, headers=headers)
    return response.status_code, response.json()


def test_clinic_metrics_answers_one_entry_per_day_with_nulls_where_not_computed(
    uvicorn_server, rolled_up, root_token
):
    variables = {"s": "metricas-http", "from": "2024-06-30", "to": "2024-07-04"}
    status, body = _post(uvicorn_server, host_for(None), CLINIC_METRICS, variables, root_token)
    assert status == 200, body
    series = body["data"]["clinicMetrics"]
    assert [entry["day"] for entry in series] == [
        "2024-06-30", "2024-07-01", "2024-07-02", "2024-07-03", "2024-07-04",
    ]  # fmt: skip
    assert series[0]["computedAt"] is None
    assert series[0]["patients"] is None
    assert series[4]["computedAt"] is None
    assert series[1]["newPatients"] == 3
    assert series[1]["patients"] == 3
    assert series[2]["newPatients"] == 0
    assert series[2]["patients"] == 3
    assert series[1]["users"] == 0  # its first ADMIN joined today, after the day
    assert series[1]["noShowRate"] is None
    assert series[1]["paymentsCollected"] == {"amount": "0.00", "currency": "PEN"}
    assert (series[1]["plan"], series[1]["status"]) == ("BASIC", "ACTIVE")


def test_platform_metrics_answers_from_the_rollup_rows(uvicorn_server, rolled_up, root_token):
    variables = {"from": "2024-07-01", "to": "2024-07-03"}
    status, body = _post(uvicorn_server, host_for(None), PLATFORM_METRICS, variables, root_token)
    assert status == 200, body
    data = body["data"]["platformMetrics"]
    assert (data["from"], data["to"]) == ("2024-07-01", "2024-07-03")
    assert data["mrr"]["currency"] == "USD"
    by_plan = {item["plan"]: item["count"] for item in data["clinicsByPlan"]}
    assert by_plan["BASIC"] >= 2  # clinica2, cerrada and this one
    by_status = {item["status"]: item["count"] for item in data["clinicsByStatus"]}
    assert by_status["SUSPENDED"] >= 1  # cerrada
    assert Decimal(data["mrr"]["amount"]) >= Decimal("29") + Decimal("79")
    assert [day["day"] for day in data["mrrSeries"]] == ["2024-07-01", "2024-07-02", "2024-07-03"]
    assert all(Decimal(day["amount"]["amount"]) >= Decimal("29") for day in data["mrrSeries"])
    assert {day["amount"]["currency"] for day in data["mrrSeries"]} == {"USD"}
    ours = [
        item for item in data["nearestLimits"] if item["clinic"]["subdomain"] == "metricas-http"
    ]
    if ours:  # among the top 10 unless other clinics are nearer
        assert ours[0]["patients"] == 3
    inactive = {item["clinic"]["subdomain"] for item in data["inactiveClinics"]}
    assert "metricas-http" in inactive  # no sign-in, audit events only in 2024
    assert "clinica1" not in inactive  # opened with this test run: not 30 days old yet
    assert "cerrada" not in inactive  # suspended: its state says more than its activity
    assert data["inactiveCount"] >= len(inactive)


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"s": "metricas-http", "from": "2024-07-03", "to": "2024-07-01"}, "INVALID_DATE_RANGE"),
        ({"s": "metricas-http", "from": "2024-01-01", "to": "2025-01-01"}, "INVALID_DATE_RANGE"),
        ({"s": "metricas-http", "from": "9999-12-31", "to": "9999-12-31"}, "INVALID_DATE_RANGE"),
        ({"s": "no-such-clinic", "from": "2024-07-01", "to": "2024-07-01"}, "NOT_FOUND"),
        ({"s": "metricas-http", "from": "2024-13-01", "to": "2024-07-01"}, None),
    ],
    ids=["to-before-from", "367-days", "year-9999", "unknown-subdomain", "not-a-date"],
)
def test_bad_input_is_a_coded_error(uvicorn_server, rolled_up, root_token, variables, code):
    status, body = _post(uvicorn_server, host_for(None), CLINIC_METRICS, variables, root_token)
    assert status in {200, 400}, body
    assert (body.get("data") or {}).get("clinicMetrics") is None
    assert error_code(body) == (code or "GRAPHQL_VALIDATION_FAILED")


def test_platform_metrics_refuses_a_range_over_366_days(uvicorn_server, root_token):
    variables = {"from": "2024-01-01", "to": "2025-01-01"}
    _, body = _post(uvicorn_server, host_for(None), PLATFORM_METRICS, variables, root_token)
    assert error_code(body) == "INVALID_DATE_RANGE"


@pytest.mark.parametrize("query", [CLINIC_METRICS, PLATFORM_METRICS], ids=["clinic", "platform"])
def test_refusals(uvicorn_server, committed_clinic, query):
    clinic = committed_clinic("metricas-sec")
    variables = {"s": "clinica1", "from": "2024-07-01", "to": "2024-07-01"}
    _, body = _post(uvicorn_server, host_for(None), query, variables, None)
    assert error_code(body) == "UNAUTHENTICATED"
    clinic_token = http_login(uvicorn_server, host_for(clinic.subdomain), "admin@metricas-sec.pe")
    _, body = _post(
        uvicorn_server, host_for(clinic.subdomain), query, variables, clinic_token["token"]
    )
    assert error_code(body) == "PUBLIC_DOMAIN_ONLY"
    _, body = _post(uvicorn_server, host_for(None), query, variables, clinic_token["token"])
    assert error_code(body) == "UNAUTHENTICATED"  # a clinic's token is no token here


@pytest.mark.django_db
def test_statements_are_the_same_for_1_day_and_300_days(client, clinic1, platform_token):
    for offset in range(5):
        clinic_day_rollup(clinic=clinic1, day=DAY + dt.timedelta(days=offset))
    graphql(client, "{ plans { code } }", host="localhost", token=platform_token)  # warm
    counts = {}
    for days in (1, 300):
        to = (DAY + dt.timedelta(days=days - 1)).isoformat()
        for name, query, variables in (
            ("clinic", CLINIC_METRICS, {"s": "clinica1", "from": DAY.isoformat(), "to": to}),
            ("platform", PLATFORM_METRICS, {"from": DAY.isoformat(), "to": to}),
        ):
            with CaptureQueriesContext(connection) as captured:
                _, body = graphql(
                    client, query, host="localhost", variables=variables, token=platform_token
                )
            assert "errors" not in body, body
            counts[(name, days)] = len(captured.captured_queries)
    assert counts[("clinic", 1)] == counts[("clinic", 300)]
    assert counts[("platform", 1)] == counts[("platform", 300)]
    assert ClinicDayMetrics.objects.filter(clinic=clinic1, day__gte=DAY).count() == 5

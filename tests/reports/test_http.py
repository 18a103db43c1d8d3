"""``clinicDashboard`` over real HTTP (uvicorn): each clinic sees its own numbers and never
another's; a missing or foreign token, a role without ``reports.dashboard``, the platform's
domain and a bad range are refused with a code."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django_tenants.utils import tenant_context

from backend.accounts.auth import _token_issue
from backend.accounts.models import Role, User
from tenants_core.context import current_timezone
from tests.factories import ChairFactory, PatientFactory, ProfessionalFactory, StaffFactory
from tests.reports.world import appointment, charge, payment, performed, procedure

pytestmark = pytest.mark.slow

QUERY = """query($from: Date!, $to: Date!) { clinicDashboard(from: $from, to: $to) {
  from to appointmentsTotal appointmentsByStatus { status count }
  attendanceByProfessional { professionalName completed noShow noShowRate }
  productionTotal { amount currency }
  productionByProfessional { professionalName value { amount currency } count }
  productionByProcedure { code name value { amount currency } count }
  patients { new returning attended }
  collectionsByMethod { method received { amount } refunded { amount } net { amount } count }
  collected { amount currency }
  outstanding { receivable { amount currency } patientsOwing credit { amount } }
  chairs { name openMinutes bookedMinutes occupancy } occupancy } }"""


def _seed(clinic: Any, name: str, price: str, paid: str) -> dict[str, str]:
    """A day of the clinic: one completed appointment, a procedure, a charge and a payment
    today (local); and a token for each role."""
    with tenant_context(clinic), transaction.atomic():
        admin = User.objects.get(email=f"admin@{clinic.subdomain}.pe")
        patient = PatientFactory(first_name=name)
        professional = ProfessionalFactory(full_name=f"Dr. {name}")
        chair = ChairFactory(name=f"Sillón {name}")
        now = dt.datetime.now(current_timezone()).replace(microsecond=0)
        starts = now.replace(hour=0, minute=5, second=0)
        appointment(patient, professional, chair, starts, 30, "COMPLETED")
        performed(patient, professional, procedure(f"P-{name}", name), starts, price, admin)
        charge(patient, price, now - dt.timedelta(seconds=1), admin)
        payment(patient, paid, "CASH", now - dt.timedelta(seconds=1), admin)
        tokens = {"ADMIN": _token_issue(admin).raw}
        for role in (Role.DENTIST, Role.ASSISTANT, Role.RECEPTIONIST):
            staff = StaffFactory(email=f"{role.lower()}@{clinic.subdomain}.pe", role=role)
            tokens[role] = _token_issue(staff).raw
        return tokens


@pytest.fixture
def clinics(committed_clinic: Any, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    with django_db_blocker.unblock():
        north, south = committed_clinic("tablero1"), committed_clinic("tablero2")
        today = dt.datetime.now(current_timezone()).date().isoformat()
        yield {
            "today": today,
            "north": ("tablero1.localhost", _seed(north, "Norte", "300.00", "120.00")),
            "south": ("tablero2.localhost", _seed(south, "Sur", "55.50", "55.50")),
        }


def ask(server: Any, host: str, token: str | None, **variables: str) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = server.post(host, {"query": QUERY, "variables": variables}, headers=headers)
    return response.status_code, response.json()


def code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or []
    return errors[0].get("extensions", {}).get("code") if errors else None


def test_each_clinic_sees_its_own_dashboard_only(uvicorn_server, clinics):
    day = clinics["today"]
    for key, (name, price, paid, owed) in {
        "north": ("Norte", "300.00", "120.00", "180.00"),
        "south": ("Sur", "55.50", "55.50", "0"),
    }.items():
        host, tokens = clinics[key]
        status, body = ask(uvicorn_server, host, tokens["ADMIN"], **{"from": day, "to": day})
        assert status == 200, body
        data = body["data"]["clinicDashboard"]
        assert data["appointmentsTotal"] == 1
        assert [p["professionalName"] for p in data["attendanceByProfessional"]] == [f"Dr. {name}"]
        assert data["attendanceByProfessional"][0]["noShowRate"] == 0.0
        assert data["productionTotal"] == [{"amount": price, "currency": "PEN"}]
        assert [(p["code"], p["count"]) for p in data["productionByProcedure"]] == [
            (f"P-{name}", 1)
        ]
        assert data["patients"] == {"new": 1, "returning": 0, "attended": 1}
        assert data["collected"] == {"amount": paid, "currency": "PEN"}
        assert Decimal(data["outstanding"]["receivable"]["amount"]) == Decimal(owed)
        assert [c["name"] for c in data["chairs"]] == [f"Sillón {name}"]
        # A clinic with no opening hours set: nothing to measure occupancy against.
        assert data["occupancy"] is None
        assert {s["status"] for s in data["appointmentsByStatus"]} == {
            "SCHEDULED", "CONFIRMED", "CHECKED_IN", "IN_PROGRESS", "COMPLETED", "CANCELLED",
            "NO_SHOW",
        }  # fmt: skip


def test_refusals_are_coded_and_carry_no_data(uvicorn_server, clinics):
    day = clinics["today"]
    host, tokens = clinics["north"]
    _, south_tokens = clinics["south"]
    window = {"from": day, "to": day}
    cases = [
        (host, None, window, "UNAUTHENTICATED"),
        (host, "dtk_not-a-token", window, "UNAUTHENTICATED"),
        (host, south_tokens["ADMIN"], window, "UNAUTHENTICATED"),  # another clinic's token
        (host, tokens["DENTIST"], window, "FORBIDDEN"),
        (host, tokens["ASSISTANT"], window, "FORBIDDEN"),
        (host, tokens["RECEPTIONIST"], window, "FORBIDDEN"),
        ("localhost", tokens["ADMIN"], window, "TENANT_DOMAIN_ONLY"),
        (host, tokens["ADMIN"], {"from": day, "to": "2000-01-01"}, "INVALID_DATE_RANGE"),
        (host, tokens["ADMIN"], {"from": "2024-01-01", "to": "2025-01-01"}, "INVALID_DATE_RANGE"),
        (host, tokens["ADMIN"], {"from": "1999-06-01", "to": "1999-06-02"}, "INVALID_DATE_RANGE"),
        (host, tokens["ADMIN"], {"from": "ayer", "to": day}, "GRAPHQL_VALIDATION_FAILED"),
    ]
    for target, token, variables, expected in cases:
        status, body = ask(uvicorn_server, target, token, **variables)
        assert status < 500, (expected, body)
        assert code(body) == expected, (target, variables, body)
        assert not (body.get("data") or {}).get("clinicDashboard"), body

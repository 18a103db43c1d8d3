"""The races of the front desk and the till, many times in one run, over real HTTP (uvicorn
with 4 worker processes, committed data).

Each round fires at once, in one clinic:

- 9 bookings of one slot, one per (professional, chair) pair of 3 × 3: some share a
  professional, some a chair, so both exclusion constraints race;
- 4 patient creations with one seat left under the plan's limit;
- 5 receipts issued in one series.

Every answer must be a success or the domain's refusal (``APPOINTMENT_OVERLAP``,
``PLAN_LIMIT_REACHED``): never a 503, never ``DATABASE_UNAVAILABLE``, ``INTERNAL_ERROR`` or
``CONCURRENT_UPDATE``; and what was written must add up (a valid set of bookings, exactly
the limit, consecutive receipt numbers).

``STRESS_ROUNDS`` (default 50) sets the number of rounds.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import itertools
import os
from typing import Any

import httpx
import pytest
from django.db import connection

from backend.accounts.models import User
from backend.billing.models import Charge, Receipt
from backend.core.tenancy import clinic_context
from backend.patients.models import Patient
from backend.resources.models import Chair, Professional, WorkingHours
from backend.scheduling.models import Appointment
from tenants_core.models import Clinic
from tests.conftest import http_login, production_like_env, running_uvicorn
from tests.dates import MONDAY
from tests.ids import global_id
from tests.scheduling.conftest import lima

pytestmark = pytest.mark.slow

ROUNDS = int(os.environ.get("STRESS_ROUNDS") or 50)
FIRST_DAY = MONDAY  # weeks ahead of today, in Lima
BOOKINGS, PATIENTS, RECEIPTS = 9, 4, 5

BOOK = """
mutation($input: ScheduleAppointmentInput!) { scheduleAppointment(input: $input) {
  __typename ... on OperationInfo { messages { code message } } } }
"""

CREATE_PATIENT = """
mutation($input: CreatePatientInput!) { createPatient(input: $input) {
  __typename ... on OperationInfo { messages { code message } } } }
"""
ISSUE = """
mutation($p: ID!, $c: ID!) { issueReceipt(input: {patientId: $p, chargeIds: [$c], receiptType: BOLETA}) {
  __typename ... on Receipt { number } ... on OperationInfo { messages { code message } } } }
"""


def gid(obj: Any, clinic: Clinic) -> str:
    return global_id(type(obj).__name__, obj.pk, clinic)


def test_the_races_hold_round_after_round(django_db_blocker, committed_clinic):
    clinic = committed_clinic("estres", plan="professional")
    host = "estres.localhost"
    with django_db_blocker.unblock(), clinic_context(clinic):
        professionals = [
            Professional.objects.create(full_name=f"Dra. {i}", license_number=f"7{i}")
            for i in range(3)
        ]
        WorkingHours.objects.bulk_create(
            WorkingHours(professional=p, weekday=day, start_time=dt.time(8), end_time=dt.time(18))
            for p in professionals
            for day in range(7)
        )
        chairs = [Chair.objects.create(name=f"Sillón {i}") for i in range(3)]
        patient = Patient.objects.create(
            first_name="Caja", last_name="Paralela", document_type="DNI", document_number="40000000"
        )
        admin_id = User.objects.get(email="admin@estres.pe").pk
    document_numbers = itertools.count(50_000_000)

    # As in production: DEBUG off (no query log kept per request).
    with running_uvicorn(django_db_blocker, workers=4, env=production_like_env()) as server:
        token = http_login(server, host, "admin@estres.pe")["token"]

        # One client for every request: httpx.post builds a client (and its TLS context) per
        # call, about 45 ms of CPU, more than the request costs the server.
        http = httpx.Client(
            base_url=server.url, timeout=60,
            headers={"Host": f"{host}:{server.port}", "Authorization": f"Bearer {token}"},
        )  # fmt: skip

        def send(query: str, variables: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            response = http.post("/graphql", json={"query": query, "variables": variables})
            return response.status_code, response.json()

        with http, concurrent.futures.ThreadPoolExecutor(BOOKINGS + PATIENTS + RECEIPTS) as pool:
            for round_ in range(ROUNDS):
                day = FIRST_DAY + dt.timedelta(days=round_)
                with django_db_blocker.unblock():
                    charges = _prepare_round(clinic, patient, admin_id)
                requests = [
                    ("booking", BOOK, {"input": {
                        "patientId": gid(patient, clinic), "professionalId": gid(p, clinic), "chairId": gid(c, clinic),
                        "startsAt": lima(day, 10).isoformat(), "endsAt": lima(day, 10, 30).isoformat(),
                    }})
                    for p, c in itertools.product(professionals, chairs)
                ] + [
                    ("patient", CREATE_PATIENT, {"input": {
                        "firstName": "Nuevo", "lastName": f"R{round_}", "documentType": "DNI",
                        "documentNumber": str(next(document_numbers)),
                    }})
                    for _ in range(PATIENTS)
                ] + [
                    ("receipt", ISSUE, {"p": gid(patient, clinic), "c": gid(charge, clinic)}) for charge in charges
                ]  # fmt: skip
                answers = list(pool.map(lambda r: (r[0], *send(r[1], r[2])), requests))
                with django_db_blocker.unblock():
                    _check_round(clinic, round_, day, answers)

    with django_db_blocker.unblock(), clinic_context(clinic):
        numbers = sorted(Receipt.objects.values_list("number", flat=True))
        assert numbers == list(range(1, ROUNDS * RECEIPTS + 1))


def _prepare_round(clinic: Clinic, patient: Patient, admin_id: int) -> list[Charge]:
    """One seat left under the patient limit; a charge per receipt to issue."""
    with clinic_context(clinic):
        active = Patient.objects.filter(is_archived=False).count()
        charges = Charge.objects.bulk_create(
            Charge(patient=patient, concept=f"C{i}", unit_price="10.00", amount="10.00",
                   created_by_id=admin_id)
            for i in range(RECEIPTS)
        )  # fmt: skip
    connection.set_schema_to_public()
    Clinic.objects.filter(pk=clinic.pk).update(max_patients_override=active + 1)
    return charges


def _payload(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    field = {
        "booking": "scheduleAppointment",
        "patient": "createPatient",
        "receipt": "issueReceipt",
    }
    return body["data"][field[kind]]


def _check_round(
    clinic: Clinic, round_: int, day: dt.date, answers: list[tuple[str, int, dict[str, Any]]]
) -> None:
    expected_refusal = {"booking": "APPOINTMENT_OVERLAP", "patient": "PLAN_LIMIT_REACHED"}
    successes: dict[str, int] = {"booking": 0, "patient": 0, "receipt": 0}
    for kind, status, body in answers:
        context = f"round {round_}, {kind}: {status} {body}"
        assert status == 200, context
        assert "errors" not in body, context
        payload = _payload(kind, body)
        if payload["__typename"] == "OperationInfo":
            codes = {m["code"] for m in payload["messages"]}
            assert codes == {expected_refusal.get(kind)}, context
        else:
            successes[kind] += 1
    assert successes["patient"] == 1, (round_, answers)
    assert successes["receipt"] == RECEIPTS, (round_, answers)
    with clinic_context(clinic):
        booked = list(
            Appointment.objects.filter(starts_at=lima(day, 10)).values_list(
                "professional_id", "chair_id"
            )
        )
    connection.set_schema_to_public()
    # At least one booking wins; no two winners share a professional or a chair.
    assert 1 <= len(booked) == successes["booking"] <= 3, (round_, booked)
    assert len({p for p, _ in booked}) == len({c for _, c in booked}) == len(booked), booked

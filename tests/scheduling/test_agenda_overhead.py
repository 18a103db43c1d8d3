"""The agenda through the cheaper GraphQL path (issue 7, item 5) answers exactly what the full
one did, clinic by clinic. See tests/graphql_api/test_overhead.py for the rest."""

import datetime as dt

import pytest
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.patients.models import Patient
from backend.scheduling.models import Appointment
from graphql_api.core import document_cache
from graphql_api.core.fast_fields import original_resolvers
from graphql_api.schema import fast_fields
from tests.conftest import graphql
from tests.ids import global_id
from tests.scheduling.conftest import MONDAY, lima

pytestmark = pytest.mark.django_db

HOST = "clinica1.localhost"

AGENDA = """
query($from: DateTime, $to: DateTime, $first: Int) {
  appointments(from: $from, to: $to, first: $first) {
    totalCount
    edges { node {
      id startsAt endsAt status reason notes cancellationReason createdAt
      patient { id fullName firstName lastName hasAlerts allergies medicalAlerts documentType
                documentNumber birthDate sex phone email isArchived createdAt }
      professional { id fullName licenseNumber specialty color isActive
                     workingHours { weekday startTime endTime } }
      chair { id name isActive }
    } }
  }
}
"""
PATIENTS = "{ patients(first: 50) { edges { node { id fullName sex documentType hasAlerts } } } }"


@pytest.fixture(autouse=True)
def _fresh_document_cache():
    document_cache.clear()
    yield
    document_cache.clear()


def _book_a_day(clinic, agenda, rows=30):
    with tenant_context(clinic):
        patients = [
            Patient.objects.create(
                first_name=f"Paciente{i}",
                last_name="Ríos",
                document_type="DNI",
                document_number=f"{40000000 + i}",
                sex="FEMALE" if i % 2 else "",
                allergies="penicilina" if i % 3 == 0 else "  ",
                birth_date=dt.date(1990, 1, 1 + i),
            )
            for i in range(5)
        ]
        start = lima(MONDAY, 8)
        Appointment.objects.bulk_create(
            Appointment(
                patient=patients[i % 5],
                professional=agenda.professional if i % 2 else agenda.other_professional,
                chair=agenda.chair if i % 2 else agenda.other_chair,
                starts_at=start + dt.timedelta(minutes=10 * i),
                ends_at=start + dt.timedelta(minutes=10 * i + 10),
                reason=f"Control {i}",
                status="CANCELLED" if i % 7 == 0 else "SCHEDULED",
                cancellation_reason="Viaje" if i % 7 == 0 else "",
            )
            for i in range(rows)
        )
    return {
        "from": lima(MONDAY, 0).isoformat(),
        "to": (lima(MONDAY, 0) + dt.timedelta(days=1)).isoformat(),
        "first": 100,
    }


def test_the_agenda_is_identical_with_strawberrys_own_resolvers(client, clinic1, agenda):
    variables = _book_a_day(clinic1, agenda)
    fast = graphql(client, AGENDA, host=HOST, token=agenda.token, variables=variables)
    with original_resolvers(fast_fields):
        slow = graphql(client, AGENDA, host=HOST, token=agenda.token, variables=variables)
    assert fast == slow
    assert fast[0] == 200
    assert "errors" not in fast[1]
    edges = fast[1]["data"]["appointments"]["edges"]
    assert len(edges) == 30
    first = edges[0]["node"]
    assert first["status"] == "CANCELLED"
    assert first["cancellationReason"] == "Viaje"
    assert first["startsAt"].endswith("-05:00")
    with tenant_context(clinic1):
        booked = Appointment.objects.order_by("starts_at")[0]
    assert first["id"] == global_id("Appointment", booked.pk)
    assert first["patient"]["id"] == global_id("Patient", booked.patient_id)


def test_other_lists_are_identical_with_strawberrys_own_resolvers(client, clinic1, agenda):
    _book_a_day(clinic1, agenda)
    fast = graphql(client, PATIENTS, host=HOST, token=agenda.token)
    with original_resolvers(fast_fields):
        slow = graphql(client, PATIENTS, host=HOST, token=agenda.token)
    assert fast == slow
    assert len(fast[1]["data"]["patients"]["edges"]) == 2 + 5  # the agenda's two, the day's five


def test_each_clinic_sees_only_its_own_agenda_through_the_cached_document(
    client, clinic1, clinic2, agenda, make_staff, token_for
):
    variables = _book_a_day(clinic1, agenda, rows=3)
    mine = graphql(client, AGENDA, host=HOST, token=agenda.token, variables=variables)[1]
    assert mine["data"]["appointments"]["totalCount"] == 3
    other = token_for(clinic2, make_staff(clinic2, Role.RECEPTIONIST))
    theirs = graphql(client, AGENDA, host="clinica2.localhost", token=other, variables=variables)[1]
    assert theirs == {"data": {"appointments": {"totalCount": 0, "edges": []}}}


def _without_request_ids(body):
    for error in body.get("errors", []):
        error.get("extensions", {}).pop("requestId", None)
    return body


def test_a_failing_row_reports_the_same_error_and_path_as_strawberry(client, clinic1, agenda):
    variables = _book_a_day(clinic1, agenda, rows=4)
    with tenant_context(clinic1):
        # Not a valid Sex: the resolver raises, for this patient's rows only.
        Patient.objects.filter(document_number="40000001").update(sex="Z")
    status, fast = graphql(client, AGENDA, host=HOST, token=agenda.token, variables=variables)
    with original_resolvers(fast_fields):
        slow = graphql(client, AGENDA, host=HOST, token=agenda.token, variables=variables)[1]
    assert status == 200
    assert _without_request_ids(fast) == _without_request_ids(slow)
    assert [e["path"] for e in fast["errors"]] == [
        ["appointments", "edges", 1, "node", "patient", "sex"]
    ]
    edges = fast["data"]["appointments"]["edges"]
    assert edges[1]["node"]["patient"]["sex"] is None
    assert edges[1]["node"]["patient"]["fullName"] == "Paciente1 Ríos"
    assert edges[0]["node"]["patient"]["sex"] is None
    assert edges[3]["node"]["patient"]["sex"] == "FEMALE"

"""Health data on the patient (issue 12, item 5): allergies and medical alerts are clinical,
read with clinical.view and written with clinical.write. An empty value that would write
nothing (a form that sends every field) is no write (issue 12 review, item 8). The front
desk's own alert: ``test_front_desk_alert.py``."""

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.patients.models import Patient
from tests.conftest import graphql
from tests.ids import global_id
from tests.patients.health_support import HOST, READ, events, stored

pytestmark = pytest.mark.django_db

CLINICAL_ROLES = (Role.ADMIN, Role.DENTIST, Role.ASSISTANT)

CREATE = """
mutation($input: CreatePatientInput!) {
  createPatient(input: $input) {
    __typename
    ... on Patient { allergies medicalAlerts hasAlerts }
    ... on OperationInfo { messages { code field } }
  }
}
"""
UPDATE = """
mutation($id: ID!, $input: UpdatePatientInput!) {
  updatePatient(id: $id, input: $input) {
    __typename
    ... on Patient { phone allergies medicalAlerts hasAlerts }
    ... on OperationInfo { messages { code field } }
  }
}
"""
NEW = {"firstName": "Ana", "lastName": "Díaz", "documentType": "DNI", "documentNumber": "44556677"}


@pytest.fixture
def patient_with_alerts(clinic1):
    with tenant_context(clinic1):
        return Patient.objects.create(
            first_name="Rosa", last_name="Quispe", document_type="DNI", document_number="11223344",
            allergies="Penicilina", medical_alerts="Hepatitis",
        )  # fmt: skip


# --- allergies and medical alerts are clinical -----------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_allergies_and_medical_alerts_are_read_with_clinical_view_only(
    client, clinic1, patient_with_alerts, staff, role
):
    _, token = staff(role)
    _, body = graphql(
        client, READ, host=HOST, token=token,
        variables={"id": global_id("Patient", patient_with_alerts.pk)},
    )  # fmt: skip
    assert "errors" not in body, body
    expected = (
        ("Penicilina", "Hepatitis") if role in CLINICAL_ROLES else (None, None)
    )  # the front desk gets null, and the query as a whole still answers
    patient = body["data"]["patient"]
    assert (patient["allergies"], patient["medicalAlerts"]) == expected
    assert patient["hasAlerts"] is True
    assert patient["frontDeskAlert"] is None


def test_a_receptionists_agenda_selecting_health_data_still_answers_with_nulls(
    client, clinic1, patient_with_alerts, staff
):
    from backend.resources.models import Chair, Professional
    from backend.scheduling.models import Appointment

    with tenant_context(clinic1):
        start = timezone.now() + dt.timedelta(days=1)
        Appointment.objects.create(
            patient=patient_with_alerts,
            professional=Professional.objects.create(full_name="Dra. Soto", license_number="1"),
            chair=Chair.objects.create(name="Sillón 1"), starts_at=start,
            ends_at=start + dt.timedelta(minutes=30),
        )  # fmt: skip
    query = """{ appointments(first: 10) { edges { node { patient {
      fullName hasAlerts allergies medicalAlerts } } } } }"""
    _, token = staff(Role.RECEPTIONIST)
    _, body = graphql(client, query, host=HOST, token=token)
    assert body == {
        "data": {"appointments": {"edges": [{"node": {"patient": {
            "fullName": "Rosa Quispe", "hasAlerts": True, "allergies": None, "medicalAlerts": None,
        }}}]}}
    }  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "refused"),
    [
        ({"allergies": "Látex"}, ["allergies"]),
        ({"medicalAlerts": "Gestante"}, ["medicalAlerts"]),
        # An empty field is nothing to write: only the other one is refused.
        ({"allergies": "", "medicalAlerts": "Hipertensión"}, ["medicalAlerts"]),
    ],
)
def test_a_receptionist_cannot_register_health_data(client, clinic1, staff, fields, refused):
    _, token = staff(Role.RECEPTIONIST)
    _, body = graphql(
        client, CREATE, host=HOST, token=token, variables={"input": {**NEW, **fields}}
    )
    assert body["data"]["createPatient"] == {
        "__typename": "OperationInfo",
        "messages": [{"code": "FORBIDDEN", "field": field} for field in refused],
    }
    with tenant_context(clinic1):
        assert not Patient.objects.exists()
    assert events(clinic1, "patient.create") == []


@pytest.mark.parametrize(
    "fields",
    [{"allergies": "Ninguna"}, {"allergies": None}, {"medicalAlerts": ""}, {"phone": "987654321", "allergies": "x"}],
)  # fmt: skip
def test_a_receptionist_cannot_overwrite_or_clear_health_data(
    client, clinic1, patient_with_alerts, staff, fields
):
    before = stored(clinic1, patient_with_alerts)
    _, token = staff(Role.RECEPTIONIST)
    variables = {"id": global_id("Patient", patient_with_alerts.pk), "input": fields}
    _, body = graphql(client, UPDATE, host=HOST, token=token, variables=variables)
    payload = body["data"]["updatePatient"]
    assert payload["__typename"] == "OperationInfo"
    assert {(m["code"], m["field"]) for m in payload["messages"]} == {
        ("FORBIDDEN", field) for field in ("allergies", "medicalAlerts") if field in fields
    }
    assert stored(clinic1, patient_with_alerts) == before
    assert events(clinic1, "patient.update") == []


def test_a_receptionist_still_updates_the_rest_and_gets_null_health_data_back(
    client, clinic1, patient_with_alerts, staff
):
    _, token = staff(Role.RECEPTIONIST)
    variables = {
        "id": global_id("Patient", patient_with_alerts.pk),
        "input": {"phone": "987654321"},
    }
    _, body = graphql(client, UPDATE, host=HOST, token=token, variables=variables)
    assert body["data"]["updatePatient"] == {
        "__typename": "Patient", "phone": "+51987654321", "allergies": None,
        "medicalAlerts": None, "hasAlerts": True,
    }  # fmt: skip
    assert stored(clinic1, patient_with_alerts)["allergies"] == "Penicilina"


@pytest.mark.parametrize("role", [Role.ADMIN, Role.DENTIST])
def test_clinicians_write_health_data(client, clinic1, patient_with_alerts, staff, role):
    _, token = staff(role)
    variables = {
        "id": global_id("Patient", patient_with_alerts.pk),
        "input": {"allergies": "Látex", "medicalAlerts": ""},
    }
    _, body = graphql(client, UPDATE, host=HOST, token=token, variables=variables)
    assert body["data"]["updatePatient"]["allergies"] == "Látex"
    assert body["data"]["updatePatient"]["medicalAlerts"] == ""
    assert stored(clinic1, patient_with_alerts)["allergies"] == "Látex"


# --- empty values: a form that sends every field (issue 12 review, item 8) -------------------

EVERY_FIELD_EMPTY = {
    **NEW, "phone": "", "email": "", "address": "", "emergencyContactName": "",
    "emergencyContactPhone": "", "notes": "", "allergies": "", "medicalAlerts": "",
}  # fmt: skip


@pytest.mark.parametrize("empty", ["", "   ", None], ids=["empty", "blank", "null"])
def test_a_receptionist_registers_a_patient_from_a_form_with_every_field_empty(
    client, clinic1, staff, empty
):
    _, token = staff(Role.RECEPTIONIST)
    form = {**EVERY_FIELD_EMPTY, "allergies": empty, "medicalAlerts": empty}
    _, body = graphql(client, CREATE, host=HOST, token=token, variables={"input": form})
    assert body["data"]["createPatient"] == {
        "__typename": "Patient", "allergies": None, "medicalAlerts": None, "hasAlerts": False,
    }  # fmt: skip
    with tenant_context(clinic1):
        patient = Patient.objects.get(document_number=NEW["documentNumber"])
        assert (patient.allergies, patient.medical_alerts) == ("", "")
    assert len(events(clinic1, "patient.create")) == 1


@pytest.mark.parametrize("empty", ["", "   ", None], ids=["empty", "blank", "null"])
def test_a_receptionists_empty_health_field_changes_nothing_where_nothing_is_stored(
    client, clinic1, patient, staff, empty
):
    _, token = staff(Role.RECEPTIONIST)
    variables = {
        "id": global_id("Patient", patient.pk),
        "input": {"phone": "987654321", "allergies": empty, "medicalAlerts": empty},
    }
    _, body = graphql(client, UPDATE, host=HOST, token=token, variables=variables)
    assert body["data"]["updatePatient"] == {
        "__typename": "Patient", "phone": "+51987654321", "allergies": None,
        "medicalAlerts": None, "hasAlerts": False,
    }  # fmt: skip
    row = stored(clinic1, patient)
    assert (row["allergies"], row["medical_alerts"], row["phone"]) == ("", "", "+51987654321")
    [event] = events(clinic1, "patient.update")
    assert set(event.changes) == {"phone"}


@pytest.mark.parametrize("empty", ["", None], ids=["empty", "null"])
def test_a_receptionists_empty_health_field_that_would_clear_one_is_refused(
    client, clinic1, staff, empty
):
    """Allergies stored, no medical alerts: an empty allergies field would clear clinical
    data (FORBIDDEN); the empty medical alerts beside it change nothing and pass."""
    with tenant_context(clinic1):
        patient = Patient.objects.create(
            first_name="Rosa", last_name="Quispe", document_type="DNI", document_number="11223344",
            allergies="Penicilina",
        )  # fmt: skip
    before = stored(clinic1, patient)
    _, token = staff(Role.RECEPTIONIST)
    variables = {
        "id": global_id("Patient", patient.pk),
        "input": {"phone": "987654321", "allergies": empty, "medicalAlerts": empty},
    }
    _, body = graphql(client, UPDATE, host=HOST, token=token, variables=variables)
    assert body["data"]["updatePatient"] == {
        "__typename": "OperationInfo",
        "messages": [{"code": "FORBIDDEN", "field": "allergies"}],
    }
    assert stored(clinic1, patient) == before
    assert events(clinic1, "patient.update") == []

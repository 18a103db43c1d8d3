"""The front-desk alert (issue 12, item 5): a one-line warning that a clinician writes in
their own words, read by every role with who wrote it and when; the front desk gets it, and
`hasAlerts`, instead of the allergies and medical alerts themselves."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.patients.models import Patient
from backend.patients.services import patient_front_desk_alert_set
from tests.conftest import error_code, graphql
from tests.ids import global_id
from tests.patients.health_support import HOST, READ, events, stored

pytestmark = pytest.mark.django_db

SET_ALERT = """
mutation($p: ID!, $text: String!) {
  setPatientFrontDeskAlert(patientId: $p, text: $text) {
    __typename
    ... on Patient { hasAlerts frontDeskAlert { text writtenBy { id fullName } writtenAt } }
    ... on OperationInfo { messages { code field } }
  }
}
"""


def set_alert(client, token, patient, text, host=HOST):
    variables = {"p": global_id("Patient", patient.pk), "text": text}
    return graphql(client, SET_ALERT, host=host, token=token, variables=variables)


def test_a_clinician_writes_the_front_desk_alert_and_every_role_reads_it(
    client, clinic1, patient, staff
):
    dentist, dentist_token = staff(Role.DENTIST)
    text = "Requiere profilaxis antibiótica antes de cualquier procedimiento"
    before = timezone.now()
    _, body = set_alert(client, dentist_token, patient, f"  {text}  ")
    payload = body["data"]["setPatientFrontDeskAlert"]
    assert payload["__typename"] == "Patient"
    assert payload["hasAlerts"] is True
    alert = payload["frontDeskAlert"]
    assert alert["text"] == text
    assert alert["writtenBy"] == {
        "id": global_id("StaffMember", dentist.pk), "fullName": dentist.full_name
    }  # fmt: skip
    written_at = dt.datetime.fromisoformat(alert["writtenAt"])
    # On the wire to the second, cut (the DateTime rule): not before this second began.
    assert before.replace(microsecond=0) <= written_at <= timezone.now()
    assert alert["writtenAt"].endswith("-05:00")  # the clinic's offset (Lima)
    row = stored(clinic1, patient)
    assert (row["front_desk_alert"], row["front_desk_alert_by"]) == (text, dentist.pk)

    for role in Role:
        _, token = staff(role)
        _, body = graphql(
            client, READ, host=HOST, token=token, variables={"id": global_id("Patient", patient.pk)}
        )
        assert body["data"]["patient"]["frontDeskAlert"] == alert, role
        assert body["data"]["patient"]["hasAlerts"] is True

    [event] = events(clinic1, "patient.set_front_desk_alert")
    assert (event.actor_id, event.entity_type, event.entity_id) == (
        dentist.pk, "patients.patient", str(patient.pk),
    )  # fmt: skip
    assert event.changes == {"front_desk_alert": {"from": "", "to": text}}


def test_another_clinician_replaces_it_and_an_empty_text_clears_it(client, clinic1, patient, staff):
    dentist, dentist_token = staff(Role.DENTIST)
    admin, admin_token = staff(Role.ADMIN)
    set_alert(client, dentist_token, patient, "Toma anticoagulantes: avisar al doctor")
    _, body = set_alert(client, admin_token, patient, "Avisar al doctor antes de extracciones")
    alert = body["data"]["setPatientFrontDeskAlert"]["frontDeskAlert"]
    assert alert["writtenBy"]["fullName"] == admin.full_name

    _, body = set_alert(client, dentist_token, patient, "   ")
    assert body["data"]["setPatientFrontDeskAlert"] == {
        "__typename": "Patient", "hasAlerts": False, "frontDeskAlert": None,
    }  # fmt: skip
    row = stored(clinic1, patient)
    assert (row["front_desk_alert"], row["front_desk_alert_by"], row["front_desk_alert_at"]) == (
        "", None, None,
    )  # fmt: skip
    assert [(e.actor_id, e.changes["front_desk_alert"]["to"]) for e in events(
        clinic1, "patient.set_front_desk_alert"
    )] == [
        (dentist.pk, "Toma anticoagulantes: avisar al doctor"),
        (admin.pk, "Avisar al doctor antes de extracciones"),
        (dentist.pk, ""),
    ]  # fmt: skip


@pytest.mark.parametrize("role", [Role.ASSISTANT, Role.RECEPTIONIST])
def test_roles_without_clinical_write_cannot_write_it(client, clinic1, patient, staff, role):
    _, token = staff(role)
    _, body = set_alert(client, token, patient, "Paciente nervioso")
    assert error_code(body) == "FORBIDDEN"
    assert body["data"] is None
    assert stored(clinic1, patient)["front_desk_alert"] == ""
    assert events(clinic1, "patient.set_front_desk_alert") == []


def test_without_a_valid_token_of_this_clinic_it_is_unauthenticated(
    client, clinic1, clinic2, patient, make_staff, token_for
):
    other_clinics_dentist = token_for(clinic2, make_staff(clinic2, Role.DENTIST))
    for token in (None, "not-a-token", other_clinics_dentist):
        _, body = set_alert(client, token, patient, "Paciente nervioso")
        assert error_code(body) == "UNAUTHENTICATED", token
    assert stored(clinic1, patient)["front_desk_alert"] == ""
    assert events(clinic1, "patient.set_front_desk_alert") == []


def test_on_the_platform_domain_it_answers_tenant_domain_only(
    client, clinic1, patient, platform_token
):
    _, body = set_alert(client, platform_token, patient, "Paciente nervioso", host="localhost")
    assert error_code(body) == "TENANT_DOMAIN_ONLY"
    assert stored(clinic1, patient)["front_desk_alert"] == ""


def test_another_clinics_patient_is_not_found(client, clinic1, clinic2, patient, staff):
    with tenant_context(clinic2):
        theirs = Patient.objects.create(
            first_name="Luis", last_name="Vega", document_type="DNI", document_number="99887766"
        )
    _, token = staff(Role.DENTIST)
    for target in (theirs, type("Missing", (), {"pk": 987654})):
        _, body = set_alert(client, token, target, "Paciente nervioso")
        assert body["data"]["setPatientFrontDeskAlert"] == {
            "__typename": "OperationInfo",
            "messages": [{"code": "NOT_FOUND", "field": None}],  # as every row lookup answers
        }
    wrong_type = {"p": global_id("Appointment", patient.pk), "text": "x"}
    _, body = graphql(client, SET_ALERT, host=HOST, token=token, variables=wrong_type)
    assert body["data"]["setPatientFrontDeskAlert"]["messages"] == [
        {"code": "NOT_FOUND", "field": "patientId"}
    ]
    with tenant_context(clinic2):
        assert Patient.objects.get(pk=theirs.pk).front_desk_alert == ""
    assert stored(clinic1, patient)["front_desk_alert"] == ""
    assert events(clinic1, "patient.set_front_desk_alert") == []


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("x" * 301, "TOO_LONG"),
        ("Primera línea\nsegunda línea", "INVALID_TEXT"),
        ("Tab\taquí", "INVALID_TEXT"),
        ("Campana\x07", "INVALID_TEXT"),
        ("Borrar\x7f", "INVALID_TEXT"),
        # A right-to-left override or a zero-width space would make the banner read otherwise.
        ("Alérgico a \u202enilicinep", "INVALID_TEXT"),
        ("Lá\u200btex", "INVALID_TEXT"),
    ],
)
def test_bad_text_gets_a_code_and_writes_nothing(client, clinic1, patient, staff, text, code):
    _, token = staff(Role.DENTIST)
    _, body = set_alert(client, token, patient, text)
    assert body["data"]["setPatientFrontDeskAlert"] == {
        "__typename": "OperationInfo",
        "messages": [{"code": code, "field": "text"}],
    }
    assert stored(clinic1, patient)["front_desk_alert"] == ""
    assert events(clinic1, "patient.set_front_desk_alert") == []


def test_the_longest_text_fits_and_spaces_are_folded(client, clinic1, patient, staff):
    _, token = staff(Role.DENTIST)
    _, body = set_alert(client, token, patient, "a  b" + "c" * 296 + "   ")
    assert body["data"]["setPatientFrontDeskAlert"]["frontDeskAlert"]["text"] == "a b" + "c" * 296
    _, body = set_alert(client, token, patient, "x" * 300)
    assert len(body["data"]["setPatientFrontDeskAlert"]["frontDeskAlert"]["text"]) == 300


def test_a_nul_never_reaches_the_database(client, clinic1, patient, staff):
    _, token = staff(Role.DENTIST)
    # In JSON variables the view refuses the request as a whole.
    status, body = set_alert(client, token, patient, "antes\x00después")
    assert (status, error_code(body)) == (400, "BAD_REQUEST")
    # Written as a GraphQL escape in the document, the request is refused as a whole too.
    literal = SET_ALERT.replace("$text: String!", "").replace("text: $text", 'text: "a\\u{0}b"')
    status, body = graphql(
        client, literal, host=HOST, token=token, variables={"p": global_id("Patient", patient.pk)}
    )
    assert (status, error_code(body)) == (400, "BAD_REQUEST")
    assert stored(clinic1, patient)["front_desk_alert"] == ""
    assert events(clinic1, "patient.set_front_desk_alert") == []


def test_the_database_refuses_an_alert_that_does_not_say_who_wrote_it(clinic1, patient, make_staff):
    with tenant_context(clinic1):
        with pytest.raises(IntegrityError), transaction.atomic():
            Patient.objects.filter(pk=patient.pk).update(front_desk_alert="Sin autor")
        dentist = make_staff(clinic1, Role.DENTIST)
        patient_front_desk_alert_set(actor=dentist, patient=patient, text="Con autor")
        with pytest.raises(IntegrityError), transaction.atomic():
            Patient.objects.filter(pk=patient.pk).update(front_desk_alert="")


@pytest.mark.parametrize("rows", [10, 200])
def test_patients_with_their_alerts_cost_the_same_statements(
    client, clinic1, staff, django_assert_num_queries, rows
):
    dentists = [staff(Role.DENTIST)[0] for _ in range(3)]
    with tenant_context(clinic1):
        now = timezone.now()
        Patient.objects.bulk_create(
            Patient(
                first_name="Paciente", last_name=f"{i:04}", document_type="DNI",
                document_number=f"{60000000 + i}",
                front_desk_alert=f"Aviso {i}" if i % 2 else "",
                front_desk_alert_by=dentists[i % 3] if i % 2 else None,
                front_desk_alert_at=now if i % 2 else None,
            )
            for i in range(rows)
        )  # fmt: skip
    _, token = staff(Role.RECEPTIONIST)
    query = """{ patients(first: 100) { edges { node {
      fullName hasAlerts allergies frontDeskAlert { text writtenAt writtenBy { fullName } } } } } }"""
    # cold routing: host lookup (1) + SET (1) + token (1) + the page, with the authors joined,
    # and its count (1)
    with django_assert_num_queries(4):
        _, body = graphql(client, query, host=HOST, token=token)
    nodes = [edge["node"] for edge in body["data"]["patients"]["edges"]]
    assert len(nodes) == min(rows, 100)
    written = [node for node in nodes if node["frontDeskAlert"]]
    assert len(written) == min(rows, 100) // 2  # every other patient has an alert
    assert all(node["hasAlerts"] for node in written)
    assert {node["frontDeskAlert"]["writtenBy"]["fullName"] for node in written} == {
        d.full_name for d in dentists
    }
    assert all(node["allergies"] is None for node in nodes)


def test_the_demo_seed_warns_the_front_desk_in_a_clinicians_words(clinic2):
    from backend.demo.clinical import FRONT_DESK_ALERT, clinic_clinical_demo_seed
    from backend.demo.front_desk import clinic_demo_data_seed

    clinic_demo_data_seed(clinic2, patients=40)
    clinic_clinical_demo_seed(clinic2, patients_with_records=12)
    with tenant_context(clinic2):
        warned = list(Patient.objects.exclude(front_desk_alert="").select_related(
            "front_desk_alert_by"
        ))  # fmt: skip
        with_alerts = Patient.objects.exclude(allergies="", medical_alerts="").count()
    assert warned
    assert len(warned) <= with_alerts
    assert {p.front_desk_alert for p in warned} == {FRONT_DESK_ALERT}
    assert {p.front_desk_alert_by.role for p in warned} <= {Role.ADMIN, Role.DENTIST}

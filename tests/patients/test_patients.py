"""Patients: validation, uniqueness, search, updates, archiving and the plan limit."""

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.patients.models import Patient
from tests.conftest import graphql
from tests.ids import global_id

pytestmark = pytest.mark.django_db

CREATE = """
mutation($input: CreatePatientInput!) {
  createPatient(input: $input) {
    __typename
    ... on Patient { id fullName documentType documentNumber phone email birthDate sex hasAlerts allergies medicalAlerts }
    ... on OperationInfo { messages { code field message } }
  }
}
"""
UPDATE = """
mutation($id: ID!, $input: UpdatePatientInput!) {
  updatePatient(id: $id, input: $input) {
    __typename
    ... on Patient { fullName phone email allergies documentNumber }
    ... on OperationInfo { messages { code field } }
  }
}
"""
ARCHIVE = """
mutation($id: ID!) { archivePatient(id: $id) { __typename ... on Patient { isArchived } ... on OperationInfo { messages { code } } } }
"""
SEARCH = """
query($search: String, $first: Int, $after: String, $orderBy: PatientOrder, $includeArchived: Boolean) {
  patients(search: $search, first: $first, after: $after, orderBy: $orderBy, includeArchived: $includeArchived) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id fullName documentNumber hasAlerts } }
  }
}
"""
GOOD = {
    "firstName": "José",
    "lastName": "Pérez",
    "documentType": "DNI",
    "documentNumber": "12345678",
}


@pytest.fixture
def token(clinic1, make_staff, token_for):
    return token_for(clinic1, make_staff(clinic1, Role.RECEPTIONIST))


@pytest.fixture
def dentist_token(clinic1, make_staff, token_for):
    """Allergies and medical alerts are health data: clinicians write and read them."""
    return token_for(clinic1, make_staff(clinic1, Role.DENTIST))


def create(client, token, **fields):
    _, body = graphql(
        client,
        CREATE,
        host="clinica1.localhost",
        token=token,
        variables={"input": {**GOOD, **fields}},
    )
    assert "errors" not in body, body
    return body["data"]["createPatient"]


def codes(payload):
    return [(m["field"], m["code"]) for m in payload.get("messages", [])]


def test_a_patient_is_registered_with_normalized_data(client, clinic1, dentist_token):
    payload = create(
        client, dentist_token, phone="987 654 321", email=" Jose@Correo.PE ", birthDate="1985-03-14", sex="MALE",
        allergies="Penicilina", documentNumber="1234-5678",
    )  # fmt: skip
    assert payload["__typename"] == "Patient"
    assert payload["phone"] == "+51987654321"
    assert payload["email"] == "jose@correo.pe"
    assert payload["documentNumber"] == "12345678"
    assert payload["hasAlerts"] is True
    assert payload["allergies"] == "Penicilina"
    with tenant_context(clinic1):
        assert AuditEvent.objects.filter(action="patient.create").count() == 1


def test_a_foreign_phone_keeps_its_country(client, token):
    assert create(client, token, phone="+34 612 345 678")["phone"] == "+34612345678"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"firstName": "  "}, [("firstName", "INVALID_NAME")]),
        ({"lastName": ""}, [("lastName", "INVALID_NAME")]),
        ({"firstName": "x" * 101}, [("firstName", "TOO_LONG")]),
        ({"documentNumber": "1234567"}, [("documentNumber", "INVALID_DOCUMENT")]),
        ({"documentNumber": "123456789"}, [("documentNumber", "INVALID_DOCUMENT")]),
        ({"documentNumber": "1234567A"}, [("documentNumber", "INVALID_DOCUMENT")]),
        (
            {"documentType": "CE", "documentNumber": "1234"},
            [("documentNumber", "INVALID_DOCUMENT")],
        ),
        (
            {"documentType": "PASSPORT", "documentNumber": "AB-12"},
            [("documentNumber", "INVALID_DOCUMENT")],
        ),
        (
            {"documentType": "PASSPORT", "documentNumber": "ÑANDÚ123"},
            [("documentNumber", "INVALID_DOCUMENT")],
        ),
        (
            {"birthDate": (timezone.localdate() + dt.timedelta(days=2)).isoformat()},
            [("birthDate", "INVALID_BIRTH_DATE")],
        ),
        ({"birthDate": "1850-01-01"}, [("birthDate", "INVALID_BIRTH_DATE")]),
        ({"phone": "123"}, [("phone", "INVALID_PHONE")]),
        ({"phone": "not a phone"}, [("phone", "INVALID_PHONE")]),
        ({"phone": "9" * 40}, [("phone", "INVALID_PHONE")]),
        ({"emergencyContactPhone": "12"}, [("emergencyContactPhone", "INVALID_PHONE")]),
        ({"email": "nope@"}, [("email", "INVALID_EMAIL")]),
        ({"email": "a" * 250 + "@x.pe"}, [("email", "INVALID_EMAIL")]),
        ({"address": "x" * 301}, [("address", "TOO_LONG")]),
        ({"notes": "x" * 5001}, [("notes", "TOO_LONG")]),
    ],
)
def test_each_bad_field_gets_its_code_and_nothing_is_written(
    client, clinic1, token, fields, expected
):
    payload = create(client, token, **fields)
    assert codes(payload) == expected
    with tenant_context(clinic1):
        assert not Patient.objects.exists()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"allergies": "x" * 2001}, [("allergies", "TOO_LONG")]),
        ({"medicalAlerts": "x" * 2001}, [("medicalAlerts", "TOO_LONG")]),
    ],
)
def test_bad_clinical_fields_get_their_code_and_nothing_is_written(
    client, clinic1, dentist_token, fields, expected
):
    payload = create(client, dentist_token, **fields)
    assert codes(payload) == expected
    with tenant_context(clinic1):
        assert not Patient.objects.exists()


def test_several_bad_fields_are_reported_together(client, token):
    payload = create(client, token, firstName="", phone="1", email="x")
    assert {field for field, _ in codes(payload)} == {"firstName", "phone", "email"}


def test_valid_ce_and_passport_numbers(client, token):
    assert (
        create(client, token, documentType="CE", documentNumber="001234567")["__typename"]
        == "Patient"
    )
    assert (
        create(client, token, documentType="PASSPORT", documentNumber="ab123456")["documentNumber"]
        == "AB123456"
    )


def test_a_document_is_unique_within_the_clinic(client, clinic2, make_staff, token_for, token):
    create(client, token)
    assert codes(create(client, token, firstName="Otro")) == [("documentNumber", "DOCUMENT_TAKEN")]
    # The same document in another clinic is fine.
    other_token = token_for(clinic2, make_staff(clinic2, Role.RECEPTIONIST))
    _, body = graphql(
        client, CREATE, host="clinica2.localhost", token=other_token, variables={"input": GOOD}
    )
    assert body["data"]["createPatient"]["__typename"] == "Patient"


def make_patients(clinic, names):
    with tenant_context(clinic):
        return [
            Patient.objects.create(
                first_name=first,
                last_name=last,
                document_type="DNI",
                document_number=f"{40000000 + i}",
            )
            for i, (first, last) in enumerate(names)
        ]


def search(client, token, text, **variables):
    _, body = graphql(
        client,
        SEARCH,
        host="clinica1.localhost",
        token=token,
        variables={"search": text, "first": 50, **variables},
    )
    return [edge["node"]["fullName"] for edge in body["data"]["patients"]["edges"]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jose per", ["José Pérez"]),
        ("JOSÉ PÉREZ", ["José Pérez"]),
        ("perez", ["José Pérez", "Ana Pérez Núñez"]),
        ("nunez", ["Ana Pérez Núñez"]),
        ("ñuñ", ["Ana Pérez Núñez"]),
        ("quis", ["María Quispe"]),
        ("4000000", ["José Pérez", "María Quispe", "Ana Pérez Núñez"]),
        ("40000002", ["Ana Pérez Núñez"]),
        ("zzz", []),
        ("", ["José Pérez", "Ana Pérez Núñez", "María Quispe"]),
    ],
)
def test_search_ignores_accents_and_case_and_matches_parts(client, clinic1, token, text, expected):
    make_patients(clinic1, [("José", "Pérez"), ("María", "Quispe"), ("Ana", "Pérez Núñez")])
    assert sorted(search(client, token, text)) == sorted(expected)


def test_search_uses_the_trigram_index(clinic1):
    from django.db import connection

    with tenant_context(clinic1), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT id FROM patients_patient WHERE search_text LIKE '%perez%'")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "patient_search_trgm" in plan


def test_archived_patients_are_hidden_unless_asked(client, clinic1, token):
    [archived, _kept] = make_patients(clinic1, [("Luis", "Archivado"), ("Luis", "Activo")])
    _, body = graphql(
        client,
        ARCHIVE,
        host="clinica1.localhost",
        token=token,
        variables={"id": global_id("Patient", archived.pk)},
    )
    assert body["data"]["archivePatient"] == {"__typename": "Patient", "isArchived": True}
    assert search(client, token, "luis") == ["Luis Activo"]
    assert sorted(search(client, token, "luis", includeArchived=True)) == [
        "Luis Activo",
        "Luis Archivado",
    ]
    _, body = graphql(
        client,
        ARCHIVE,
        host="clinica1.localhost",
        token=token,
        variables={"id": global_id("Patient", archived.pk)},
    )
    assert body["data"]["archivePatient"]["messages"][0]["code"] == "ALREADY_ARCHIVED"


def test_ordering_and_pages(client, clinic1, token):
    make_patients(clinic1, [("A", "Zapata"), ("B", "Alva"), ("C", "Mora")])
    assert search(client, token, "", orderBy="LAST_NAME") == ["B Alva", "C Mora", "A Zapata"]
    assert search(client, token, "", orderBy="LAST_NAME_DESC") == ["A Zapata", "C Mora", "B Alva"]
    _, body = graphql(
        client, SEARCH, host="clinica1.localhost", token=token, variables={"first": 2}
    )
    page = body["data"]["patients"]
    assert page["totalCount"] == 3
    assert page["pageInfo"]["hasNextPage"] is True
    _, body = graphql(
        client,
        SEARCH,
        host="clinica1.localhost",
        token=token,
        variables={"first": 2, "after": page["pageInfo"]["endCursor"]},
    )
    assert [e["node"]["fullName"] for e in body["data"]["patients"]["edges"]] == ["A Zapata"]


def test_update_changes_only_the_given_fields(client, clinic1, dentist_token):
    [patient] = make_patients(clinic1, [("José", "Pérez")])
    variables = {
        "id": global_id("Patient", patient.pk),
        "input": {"phone": "987654321", "allergies": "Látex"},
    }
    _, body = graphql(
        client, UPDATE, host="clinica1.localhost", token=dentist_token, variables=variables
    )
    assert body["data"]["updatePatient"] == {
        "__typename": "Patient", "fullName": "José Pérez", "phone": "+51987654321", "email": "",
        "allergies": "Látex", "documentNumber": "40000000",
    }  # fmt: skip
    with tenant_context(clinic1):
        event = AuditEvent.objects.get(action="patient.update")
    assert event.changes == {
        "phone": {"from": "", "to": "+51987654321"},
        "allergies": {"from": "", "to": "Látex"},
    }


def test_update_with_a_bad_value_changes_nothing(client, clinic1, token):
    [patient, other] = make_patients(clinic1, [("José", "Pérez"), ("Ana", "Díaz")])
    variables = {
        "id": global_id("Patient", patient.pk),
        "input": {"phone": "12", "firstName": "Nuevo"},
    }
    _, body = graphql(client, UPDATE, host="clinica1.localhost", token=token, variables=variables)
    assert codes(body["data"]["updatePatient"]) == [("phone", "INVALID_PHONE")]
    variables = {
        "id": global_id("Patient", patient.pk),
        "input": {"documentNumber": other.document_number},
    }
    _, body = graphql(client, UPDATE, host="clinica1.localhost", token=token, variables=variables)
    assert codes(body["data"]["updatePatient"]) == [("documentNumber", "DOCUMENT_TAKEN")]
    with tenant_context(clinic1):
        patient.refresh_from_db()
    assert (patient.first_name, patient.phone, patient.document_number) == ("José", "", "40000000")


def test_the_plan_limit_counts_patients_that_are_not_archived(
    client, clinic2, make_staff, token_for
):
    token = token_for(clinic2, make_staff(clinic2, Role.RECEPTIONIST))
    with tenant_context(clinic2):
        Patient.objects.bulk_create(
            Patient(
                first_name="P",
                last_name=str(i),
                document_type="DNI",
                document_number=f"{50000000 + i}",
                is_archived=i == 0,
            )
            for i in range(50)
        )
    _, body = graphql(
        client, CREATE, host="clinica2.localhost", token=token, variables={"input": GOOD}
    )
    assert body["data"]["createPatient"]["__typename"] == "Patient"  # 49 active + 1
    _, body = graphql(
        client,
        CREATE,
        host="clinica2.localhost",
        token=token,
        variables={"input": {**GOOD, "documentNumber": "99999999"}},
    )
    assert codes(body["data"]["createPatient"]) == [(None, "PLAN_LIMIT_REACHED")]


@pytest.mark.parametrize("rows", [10, 500])
def test_patients_cost_the_same_statements_for_10_and_500(
    client, clinic1, token, django_assert_num_queries, rows
):
    with tenant_context(clinic1):
        Patient.objects.bulk_create(
            Patient(
                first_name="Paciente",
                last_name=f"{i:04}",
                document_type="DNI",
                document_number=f"{60000000 + i}",
            )
            for i in range(rows)
        )
    # cold routing: host lookup (1, no SET) + SET to the clinic (1) + token (1) + page with
    # its count (1); warm, the host lookup goes too
    with django_assert_num_queries(4):
        _, body = graphql(
            client,
            SEARCH,
            host="clinica1.localhost",
            token=token,
            variables={"search": "pacien", "first": 100},
        )
    assert body["data"]["patients"]["totalCount"] == rows


def test_patient_by_id_and_not_found(client, clinic1, token):
    [patient] = make_patients(clinic1, [("José", "Pérez")])
    query = "query($id: ID!) { patient(id: $id) { fullName } }"
    _, body = graphql(
        client,
        query,
        host="clinica1.localhost",
        token=token,
        variables={"id": global_id("Patient", patient.pk)},
    )
    assert body == {"data": {"patient": {"fullName": "José Pérez"}}}
    _, body = graphql(
        client,
        query,
        host="clinica1.localhost",
        token=token,
        variables={"id": global_id("Patient", 999999)},
    )
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_updated_at_moves_on_update(clinic1):
    from backend.patients.services import patient_update

    [patient] = make_patients(clinic1, [("José", "Pérez")])
    before = patient.updated_at
    with tenant_context(clinic1):
        updated = patient_update(actor=None, patient=patient, data={"notes": "Nota"})
    assert updated.updated_at > before
    assert updated.updated_at <= timezone.now()

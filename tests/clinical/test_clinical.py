"""Anamnesis, notes and the odontogram."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.clinical import services
from backend.clinical.models import ClinicalNote, Finding, NoteAddendum
from backend.clinical.teeth import validate_surfaces, validate_tooth
from backend.patients.models import Patient
from tenants_core.models import Clinic
from tests.conftest import error_code, graphql
from tests.ids import global_id

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("tooth", [11, 18, 21, 28, 31, 38, 41, 48, 51, 55, 61, 65, 71, 75, 81, 85])
def test_fdi_teeth_are_valid(tooth):
    assert validate_tooth(tooth) == tooth


@pytest.mark.parametrize("tooth", [0, 10, 19, 20, 29, 49, 50, 56, 59, 66, 86, 91, 100, -11, None])
def test_other_numbers_are_invalid_teeth(tooth):
    with pytest.raises(ValidationError) as raised:
        validate_tooth(tooth)
    assert raised.value.code == "INVALID_TOOTH"


@pytest.mark.parametrize(
    ("tooth", "surfaces", "expected"),
    [
        (16, ["o", "m"], ["M", "O"]),
        (16, ["B", "V"], ["V"]),
        (16, ["P"], ["P"]),
        (36, ["L", "D"], ["D", "L"]),
        (11, ["I", "M"], ["M", "I"]),
        (53, ["I"], ["I"]),
        (85, ["O"], ["O"]),
    ],
)
def test_surfaces_are_normalized(tooth, surfaces, expected):
    assert validate_surfaces(tooth, surfaces) == expected


@pytest.mark.parametrize(
    ("tooth", "surface"),
    [
        (11, "O"),
        (21, "O"),
        (43, "O"),
        (16, "I"),
        (36, "I"),
        (36, "P"),
        (16, "L"),
        (46, "X"),
        (11, ""),
    ],
)
def test_a_surface_that_the_tooth_lacks_is_invalid(tooth, surface):
    with pytest.raises(ValidationError) as raised:
        validate_surfaces(tooth, [surface])
    assert raised.value.code == "INVALID_SURFACE"


@pytest.fixture
def dentist(clinic1, make_staff):
    return make_staff(clinic1, Role.DENTIST)


@pytest.fixture
def dentist_token(clinic1, dentist, token_for):
    return token_for(clinic1, dentist)


RECORD = """
mutation($input: FindingInput!) {
  recordFinding(input: $input) {
    __typename
    ... on Finding { id tooth surfaces condition state material }
    ... on OperationInfo { messages { code field } }
  }
}
"""


def record(client, token, patient, **fields):
    variables = {"input": {"patientId": global_id("Patient", patient.pk), **fields}}
    _, body = graphql(client, RECORD, host="clinica1.localhost", token=token, variables=variables)
    assert "errors" not in body, body
    return body["data"]["recordFinding"]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"tooth": 19, "condition": "CARIES", "surfaces": ["O"]}, [("tooth", "INVALID_TOOTH")]),
        (
            {"tooth": 11, "condition": "CARIES", "surfaces": ["O"]},
            [("surfaces", "INVALID_SURFACE")],
        ),
        ({"tooth": 16, "condition": "CARIES"}, [("surfaces", "SURFACES_REQUIRED")]),
        (
            {"tooth": 16, "condition": "MISSING", "surfaces": ["O"]},
            [("surfaces", "SURFACES_NOT_ALLOWED")],
        ),
        (
            {"tooth": 16, "condition": "RESTORATION", "surfaces": ["O"]},
            [("material", "MATERIAL_REQUIRED")],
        ),
    ],
)
def test_bad_findings_get_their_code_and_write_nothing(
    client, clinic1, patient, dentist_token, fields, expected
):
    payload = record(client, dentist_token, patient, **fields)
    assert [(m["field"], m["code"]) for m in payload["messages"]] == expected
    with tenant_context(clinic1):
        assert not Finding.objects.exists()


def test_an_assistant_records_findings(client, clinic1, patient, make_staff, token_for):
    token = token_for(clinic1, make_staff(clinic1, Role.ASSISTANT))
    payload = record(
        client,
        token,
        patient,
        tooth=16,
        condition="RESTORATION",
        surfaces=["O", "M"],
        material="RESIN",
    )
    assert payload == {"__typename": "Finding", "id": payload["id"], "tooth": 16, "surfaces": ["M", "O"],
                       "condition": "RESTORATION", "state": "EXISTING", "material": "RESIN"}  # fmt: skip


ODONTOGRAM = """
query($p: ID!, $at: DateTime) {
  odontogram(patientId: $p, at: $at) { teeth { tooth findings { condition state surfaces recordedBy { fullName } } } }
}
"""


def chart(client, token, patient, at=None):
    variables = {"p": global_id("Patient", patient.pk), "at": at.isoformat() if at else None}
    _, body = graphql(
        client, ODONTOGRAM, host="clinica1.localhost", token=token, variables=variables
    )
    assert "errors" not in body, body
    return {
        t["tooth"]: [(f["condition"], f["state"]) for f in t["findings"]]
        for t in body["data"]["odontogram"]["teeth"]
    }


def test_the_odontogram_as_it_was_on_any_date(client, clinic1, patient, dentist, dentist_token):
    t1, t2, t3 = (timezone.now() - dt.timedelta(days=d) for d in (30, 20, 10))
    with tenant_context(clinic1):
        caries = services.finding_record(
            actor=dentist, patient=patient, tooth=16, condition="CARIES", surfaces=["O"], at=t1
        )
        planned = services.finding_record(
            actor=dentist, patient=patient, tooth=36, condition="ROOT_CANAL", state="PLANNED", at=t1
        )
        services.finding_change_state(actor=dentist, finding=planned, state="EXISTING", at=t2)
        Finding.objects.filter(pk=caries.pk).update(resolved_at=t3, resolution="Restaurada")
    assert chart(client, dentist_token, patient, t1 - dt.timedelta(days=1)) == {}
    assert chart(client, dentist_token, patient, t1 + dt.timedelta(days=1)) == {
        16: [("CARIES", "EXISTING")], 36: [("ROOT_CANAL", "PLANNED")],
    }  # fmt: skip
    assert chart(client, dentist_token, patient, t2 + dt.timedelta(days=1)) == {
        16: [("CARIES", "EXISTING")], 36: [("ROOT_CANAL", "EXISTING")],
    }  # fmt: skip
    assert chart(client, dentist_token, patient) == {36: [("ROOT_CANAL", "EXISTING")]}


@pytest.mark.parametrize("rows", [10, 200])
def test_the_whole_chart_costs_the_same_statements(
    client, clinic1, patient, dentist, dentist_token, django_assert_num_queries, rows
):
    teeth = sorted(
        validate_tooth(t)
        for t in range(11, 86)
        if t % 10 and t % 10 <= 8 and t // 10 in (1, 2, 3, 4)
    )
    with tenant_context(clinic1):
        Finding.objects.bulk_create(
            Finding(
                patient=patient,
                tooth=teeth[i % len(teeth)],
                condition="MISSING",
                state="EXISTING",
                recorded_by=dentist,
            )
            for i in range(rows)
        )
    # cold routing: host lookup (1, no SET) + SET (1) + token (1) + the chart in one compiled
    # statement (1: the patient's check, the findings and who recorded them); warm, the host
    # lookup goes too
    with django_assert_num_queries(4):
        chart(client, dentist_token, patient)


def test_odontogram_entries_are_never_edited_or_deleted_in_sql(clinic1, patient, dentist):
    with tenant_context(clinic1):
        finding = services.finding_record(
            actor=dentist, patient=patient, tooth=16, condition="CARIES", surfaces=["O"]
        )
        with pytest.raises(DatabaseError), transaction.atomic():
            Finding.objects.filter(pk=finding.pk).update(tooth=17)
        with pytest.raises(DatabaseError), transaction.atomic():
            Finding.objects.filter(pk=finding.pk).delete()
        services.finding_remove(actor=dentist, finding=finding, reason="Error de registro")
        with pytest.raises(DatabaseError), transaction.atomic():
            Finding.objects.filter(pk=finding.pk).update(resolution="otra")
        with pytest.raises(ValidationError) as raised:
            services.finding_remove(actor=dentist, finding=finding, reason="otra vez")
        assert raised.value.code == "FINDING_RESOLVED"


NOTE = """
mutation($input: ClinicalNoteInput!) {
  createClinicalNote(input: $input) { __typename ... on ClinicalNote { id status } ... on OperationInfo { messages { code field } } }
}
"""
UPDATE = """
mutation($id: ID!, $plan: String) {
  updateClinicalNote(id: $id, input: {plan: $plan}) { __typename ... on ClinicalNote { plan } ... on OperationInfo { messages { code } } }
}
"""
SIGN = """
mutation($id: ID!) { signClinicalNote(id: $id) { __typename ... on ClinicalNote { status signedAt signedBy { fullName } } ... on OperationInfo { messages { code } } } }
"""


def run(client, token, query, **variables):
    _, body = graphql(client, query, host="clinica1.localhost", token=token, variables=variables)
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


def test_a_signed_note_is_immutable_and_corrected_by_addenda(
    client, clinic1, patient, dentist, dentist_token
):
    note = run(
        client,
        dentist_token,
        NOTE,
        input={"patientId": global_id("Patient", patient.pk), "subjective": "Dolor en 16"},
    )
    assert note["status"] == "DRAFT"
    assert run(client, dentist_token, UPDATE, id=note["id"], plan="Resina 16 O") == {
        "__typename": "ClinicalNote",
        "plan": "Resina 16 O",
    }
    signed = run(client, dentist_token, SIGN, id=note["id"])
    assert signed["status"] == "SIGNED"
    assert signed["signedBy"]["fullName"] == dentist.full_name

    # Over HTTP: NOTE_SIGNED, and nothing changes.
    assert run(client, dentist_token, UPDATE, id=note["id"], plan="Otro") == {
        "__typename": "OperationInfo",
        "messages": [{"code": "NOTE_SIGNED"}],
    }
    assert run(client, dentist_token, SIGN, id=note["id"])["messages"] == [{"code": "NOTE_SIGNED"}]
    with tenant_context(clinic1):
        stored = ClinicalNote.objects.get()
        assert stored.plan == "Resina 16 O"
        # At the service level too.
        with pytest.raises(ValidationError) as raised:
            services.note_update(actor=dentist, note=stored, data={"plan": "x"})
        assert raised.value.code == "NOTE_SIGNED"
        # And in SQL.
        with pytest.raises(DatabaseError, match="NOTE_SIGNED"), transaction.atomic():
            ClinicalNote.objects.filter(pk=stored.pk).update(plan="x")

    addendum = run(
        client, dentist_token,
        'mutation($id: ID!) { addNoteAddendum(noteId: $id, text: "Se usó resina A2") { __typename ... on NoteAddendum { text signedAt author { fullName } } } }',
        id=note["id"],
    )  # fmt: skip
    assert addendum["text"] == "Se usó resina A2"
    signed_at = dt.datetime.fromisoformat(addendum["signedAt"])  # signed as it is written
    assert abs(timezone.now() - signed_at) < dt.timedelta(minutes=1)
    assert addendum["author"] == {"fullName": dentist.full_name}


def test_only_the_author_or_an_admin_signs(
    client, clinic1, patient, dentist, dentist_token, make_staff, token_for
):
    note = run(
        client,
        dentist_token,
        NOTE,
        input={"patientId": global_id("Patient", patient.pk), "subjective": "x"},
    )
    other_dentist = token_for(clinic1, make_staff(clinic1, Role.DENTIST))
    assert run(client, other_dentist, SIGN, id=note["id"])["messages"] == [
        {"code": "NOT_NOTE_AUTHOR"}
    ]
    admin = token_for(clinic1, make_staff(clinic1, Role.ADMIN))
    assert run(client, admin, SIGN, id=note["id"])["status"] == "SIGNED"


ADDENDUM = """
mutation($id: ID!, $text: String!) {
  addNoteAddendum(noteId: $id, text: $text) {
    __typename ... on NoteAddendum { text author { fullName } } ... on OperationInfo { messages { code field } }
  }
}
"""


def test_only_the_author_or_an_admin_adds_an_addendum(
    client, clinic1, patient, dentist, dentist_token, make_staff, token_for
):
    """An addendum corrects or completes the author's own signed note; another clinician
    writes a note of their own instead."""
    with tenant_context(clinic1):
        note = services.note_create(actor=dentist, patient=patient, data={"subjective": "Dolor"})
        services.note_sign(actor=dentist, note=note)
    note_id = global_id("ClinicalNote", note.pk)
    other_dentist = make_staff(clinic1, Role.DENTIST)
    refused = run(
        client, token_for(clinic1, other_dentist), ADDENDUM, id=note_id, text="Otra opinión"
    )
    assert refused == {
        "__typename": "OperationInfo",
        "messages": [{"code": "NOT_NOTE_AUTHOR", "field": None}],
    }
    with tenant_context(clinic1):
        assert not NoteAddendum.objects.exists()
        assert not AuditEvent.objects.filter(action="clinical_note.add_addendum").exists()
        # The service holds the rule, whatever calls it.
        with pytest.raises(ValidationError) as raised:
            services.addendum_add(actor=other_dentist, note=note, text="Otra opinión")
        assert raised.value.code == "NOT_NOTE_AUTHOR"
        assert not NoteAddendum.objects.exists()

    admin = make_staff(clinic1, Role.ADMIN)
    by_admin = run(
        client, token_for(clinic1, admin), ADDENDUM, id=note_id, text="Complemento administrativo"
    )
    assert by_admin == {
        "__typename": "NoteAddendum",
        "text": "Complemento administrativo",
        "author": {"fullName": admin.full_name},
    }
    by_author = run(client, dentist_token, ADDENDUM, id=note_id, text="Se usó resina A2")
    assert by_author["author"] == {"fullName": dentist.full_name}
    with tenant_context(clinic1):
        assert NoteAddendum.objects.count() == 2
        assert AuditEvent.objects.filter(action="clinical_note.add_addendum").count() == 2


def test_an_assistant_reads_notes_but_cannot_sign_or_write(
    client, clinic1, patient, dentist_token, make_staff, token_for
):
    note = run(
        client,
        dentist_token,
        NOTE,
        input={"patientId": global_id("Patient", patient.pk), "subjective": "x"},
    )
    assistant = token_for(clinic1, make_staff(clinic1, Role.ASSISTANT))
    _, body = graphql(
        client, SIGN, host="clinica1.localhost", token=assistant, variables={"id": note["id"]}
    )
    assert error_code(body) == "FORBIDDEN"
    _, body = graphql(
        client,
        "query($id: ID!) { clinicalNote(id: $id) { subjective } }",
        host="clinica1.localhost",
        token=assistant,
        variables={"id": note["id"]},
    )
    assert body == {"data": {"clinicalNote": {"subjective": "x"}}}


def test_a_receptionist_cannot_read_notes_or_anamnesis(
    client, clinic1, patient, dentist_token, make_staff, token_for
):
    note = run(
        client,
        dentist_token,
        NOTE,
        input={"patientId": global_id("Patient", patient.pk), "subjective": "x"},
    )
    receptionist = token_for(clinic1, make_staff(clinic1, Role.RECEPTIONIST))
    for query, variables in [
        ("query($id: ID!) { clinicalNote(id: $id) { subjective } }", {"id": note["id"]}),
        (
            "query($p: ID!) { clinicalNotes(patientId: $p) { totalCount } }",
            {"p": global_id("Patient", patient.pk)},
        ),
        (
            "query($p: ID!) { medicalHistory(patientId: $p) { version } }",
            {"p": global_id("Patient", patient.pk)},
        ),
    ]:
        _, body = graphql(
            client, query, host="clinica1.localhost", token=receptionist, variables=variables
        )
        assert error_code(body) == "FORBIDDEN"


def test_notes_can_be_restricted_to_their_authors(
    client, clinic1, patient, dentist_token, make_staff, token_for
):
    note = run(
        client,
        dentist_token,
        NOTE,
        input={"patientId": global_id("Patient", patient.pk), "subjective": "x"},
    )
    other = token_for(clinic1, make_staff(clinic1, Role.DENTIST))
    admin = token_for(clinic1, make_staff(clinic1, Role.ADMIN))
    query = "query($id: ID!) { clinicalNote(id: $id) { subjective } }"
    _, body = graphql(
        client, query, host="clinica1.localhost", token=other, variables={"id": note["id"]}
    )
    assert body["data"]["clinicalNote"] == {"subjective": "x"}
    settings_mutation = "mutation { updateClinicSettings(restrictNotesToAuthor: true) { ... on Clinic { restrictNotesToAuthor } } }"
    _, body = graphql(client, settings_mutation, host="clinica1.localhost", token=admin)
    assert body == {"data": {"updateClinicSettings": {"restrictNotesToAuthor": True}}}
    assert Clinic.objects.get(pk=clinic1.pk).restrict_notes_to_author is True
    _, body = graphql(
        client, query, host="clinica1.localhost", token=other, variables={"id": note["id"]}
    )
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    _, body = graphql(
        client, query, host="clinica1.localhost", token=admin, variables={"id": note["id"]}
    )
    assert body["data"]["clinicalNote"] == {"subjective": "x"}


def test_every_read_of_a_note_is_audited(client, clinic1, patient, dentist, dentist_token):
    for text in ("a", "b"):
        run(
            client,
            dentist_token,
            NOTE,
            input={"patientId": global_id("Patient", patient.pk), "subjective": text},
        )
    _, body = graphql(
        client,
        "query($p: ID!) { clinicalNotes(patientId: $p) { edges { node { id } } } }",
        host="clinica1.localhost",
        token=dentist_token,
        variables={"p": global_id("Patient", patient.pk)},
    )
    assert len(body["data"]["clinicalNotes"]["edges"]) == 2
    with tenant_context(clinic1):
        reads = AuditEvent.objects.filter(action="clinical_note.read")
        assert reads.count() == 2
        assert {e.actor_id for e in reads} == {dentist.pk}


def test_one_note_per_visit_and_only_for_its_patient(clinic1, patient, dentist):
    from backend.resources.models import Chair, Professional
    from backend.scheduling.models import Appointment

    with tenant_context(clinic1):
        other = Patient.objects.create(
            first_name="Ana", last_name="Díaz", document_type="DNI", document_number="87654321"
        )
        start = timezone.now() + dt.timedelta(days=1)
        visit = Appointment.objects.create(
            patient=patient, professional=Professional.objects.create(full_name="P", license_number="9"),
            chair=Chair.objects.create(name="S"), starts_at=start, ends_at=start + dt.timedelta(hours=1),
        )  # fmt: skip
        services.note_create(
            actor=dentist, patient=patient, appointment=visit, data={"subjective": "x"}
        )
        with pytest.raises(ValidationError) as raised:
            services.note_create(actor=dentist, patient=patient, appointment=visit, data={})
        assert raised.value.error_dict["appointment_id"][0].code == "APPOINTMENT_HAS_NOTE"
        with pytest.raises(ValidationError) as raised:
            services.note_create(actor=dentist, patient=other, appointment=visit, data={})
        assert raised.value.error_dict["appointment_id"][0].code == "WRONG_PATIENT"


def test_an_empty_note_cannot_be_signed(clinic1, patient, dentist):
    with tenant_context(clinic1):
        note = services.note_create(actor=dentist, patient=patient, data={})
        with pytest.raises(ValidationError) as raised:
            services.note_sign(actor=dentist, note=note)
    assert raised.value.code == "NOTE_EMPTY"


def test_the_anamnesis_is_versioned_and_feeds_the_patients_clinical_alerts(
    client, clinic1, patient, dentist_token, make_staff, token_for
):
    mutation = """
    mutation($p: ID!, $input: MedicalHistoryInput!) {
      recordMedicalHistory(patientId: $p, input: $input) { __typename ... on MedicalHistory { version conditions } ... on OperationInfo { messages { code field } } }
    }
    """
    p = global_id("Patient", patient.pk)
    first = run(
        client,
        dentist_token,
        mutation,
        p=p,
        input={"conditions": ["DIABETES"], "allergies": "Penicilina"},
    )
    assert first == {"__typename": "MedicalHistory", "version": 1, "conditions": ["DIABETES"]}
    second = run(
        client,
        dentist_token,
        mutation,
        p=p,
        input={
            "conditions": ["DIABETES", "HYPERTENSION"],
            "takesAnticoagulants": True,
            "allergies": "Penicilina, látex",
        },
    )
    assert second["version"] == 2
    future = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    assert run(client, dentist_token, mutation, p=p, input={"lastDentalVisit": future})[
        "messages"
    ] == [{"code": "INVALID_DATE", "field": "lastDentalVisit"}]
    _, body = graphql(
        client,
        "query($p: ID!) { medicalHistoryVersions(patientId: $p) { version allergies } patient(id: $p) { allergies medicalAlerts hasAlerts } }",
        host="clinica1.localhost",
        token=dentist_token,
        variables={"p": p},
    )
    assert [v["version"] for v in body["data"]["medicalHistoryVersions"]] == [2, 1]
    assert body["data"]["patient"]["allergies"] == "Penicilina, látex"
    assert "Takes anticoagulants" in body["data"]["patient"]["medicalAlerts"]
    assert "Hypertension" in body["data"]["patient"]["medicalAlerts"]
    # They are clinical: the front desk learns only that there is something to check.
    receptionist = token_for(clinic1, make_staff(clinic1, Role.RECEPTIONIST))
    _, body = graphql(
        client,
        "query($p: ID!) { patient(id: $p) { allergies medicalAlerts hasAlerts frontDeskAlert { text } } }",
        host="clinica1.localhost",
        token=receptionist,
        variables={"p": p},
    )
    assert body == {
        "data": {
            "patient": {
                "allergies": None,
                "medicalAlerts": None,
                "hasAlerts": True,
                "frontDeskAlert": None,
            }
        }
    }

"""Patient documents through GraphQL, in process (each test rolled back): who lists which
kinds, changes and archives (audited, coded refusals that change nothing), another clinic's
IDs, and the list's constant statement count. Uploads and downloads are over real HTTP in
``test_http.py``."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.documents.models import DocumentKind, PatientDocument
from backend.files.models import FilePurpose, StoredFile
from tests.conftest import error_code, graphql, operation_codes
from tests.factories import PatientFactory
from tests.ids import global_id

pytestmark = pytest.mark.django_db

HOST = "clinica1.localhost"
HOST2 = "clinica2.localhost"

LIST = """query($p: ID!, $kind: DocumentKind, $archived: Boolean, $first: Int) {
  patientDocuments(patientId: $p, kind: $kind, includeArchived: $archived, first: $first) {
    totalCount
    edges { node { id kind originalName contentType sizeBytes takenOn teeth note dicomWarnings
      createdAt createdBy { fullName } archivedAt downloadUrl previewUrl preview { width height }
    } }
  } }"""
UPDATE = """mutation($id: ID!, $input: UpdatePatientDocumentInput!) {
  updatePatientDocument(id: $id, input: $input) {
    __typename
    ... on PatientDocument { kind takenOn teeth note }
    ... on OperationInfo { messages { code field } }
  } }"""
ARCHIVE = """mutation($id: ID!) { archivePatientDocument(id: $id) {
  __typename ... on PatientDocument { archivedAt } ... on OperationInfo { messages { code } } } }"""
UNARCHIVE = """mutation($id: ID!) { unarchivePatientDocument(id: $id) {
  __typename ... on PatientDocument { archivedAt } ... on OperationInfo { messages { code } } } }"""


def gid(obj: Any) -> str:
    return global_id(type(obj).__name__, obj.pk)


_counter = iter(range(1, 1_000_000))


def stored_file(purpose: str = FilePurpose.DOCUMENT, **fields: Any) -> StoredFile:
    n = next(_counter)
    values = dict(
        key=f"clinics/{connection.schema_name}/{purpose.lower()}/test{n:08d}.png",
        purpose=purpose,
        content_type="image/png",
        size_bytes=1000 + n,
        sha256=hashlib.sha256(str(n).encode()).hexdigest(),
        original_name=f"archivo-{n}.png",
        width=100,
        height=80,
    )
    values.update(fields)
    return StoredFile.objects.create(**values)


def document(patient, kind: str, user, *, preview: bool = True, **fields: Any) -> PatientDocument:
    return PatientDocument.objects.create(
        patient=patient,
        kind=kind,
        original=stored_file(),
        preview=stored_file(FilePurpose.PREVIEW, width=64, height=51) if preview else None,
        created_by=user,
        **fields,
    )


@pytest.fixture
def staff(clinic1, make_staff, token_for, clinic1_admin) -> dict[str, Any]:
    users = {"ADMIN": clinic1_admin}
    users.update({role: make_staff(clinic1, role) for role in
                  (Role.DENTIST, Role.ASSISTANT, Role.RECEPTIONIST)})  # fmt: skip
    return {role: (user, token_for(clinic1, user)) for role, user in users.items()}


@pytest.fixture
def chart(clinic1, staff) -> dict[str, Any]:
    """A patient with one document of each kind."""
    dentist = staff["DENTIST"][0]
    with tenant_context(clinic1):
        patient = PatientFactory(first_name="José", last_name="Pérez")
        documents = {kind: document(patient, kind, dentist) for kind in DocumentKind.values}
    return {"patient": patient, "documents": documents}


def ask(client, query, token, host=HOST, **variables) -> dict[str, Any]:
    status, body = graphql(client, query, host=host, token=token, variables=variables)
    assert status in (200, 400, 401, 403), body
    return body


def trail(clinic) -> list[tuple[str, str]]:
    with tenant_context(clinic):
        return list(AuditEvent.objects.order_by("pk").values_list("action", "entity_id"))


def state(clinic) -> tuple[Any, ...]:
    with tenant_context(clinic):
        return (
            list(PatientDocument.objects.order_by("pk").values()),
            list(StoredFile.objects.order_by("pk").values_list("pk", "key")),
            list(AuditEvent.objects.order_by("pk").values_list("pk")),
        )


@pytest.mark.parametrize(
    ("role", "kinds"),
    [
        ("ADMIN", set(DocumentKind.values)),
        ("DENTIST", set(DocumentKind.values)),
        ("ASSISTANT", set(DocumentKind.values)),
        ("RECEPTIONIST", {"CONSENT", "ID_DOCUMENT"}),
    ],
)
def test_each_role_lists_exactly_the_kinds_it_may_read(client, chart, staff, role, kinds):
    body = ask(client, LIST, staff[role][1], p=gid(chart["patient"]))
    connection_ = body["data"]["patientDocuments"]
    listed = {edge["node"]["kind"] for edge in connection_["edges"]}
    assert listed == kinds
    assert connection_["totalCount"] == len(kinds)
    for edge in connection_["edges"]:
        node = edge["node"]
        assert node["downloadUrl"].startswith(f"http://{HOST}/files/")
        assert node["previewUrl"].startswith(f"http://{HOST}/files/")
        assert node["preview"] == {"width": 64, "height": 51}


def test_the_receptionist_asking_for_radiographs_gets_none(client, chart, staff):
    body = ask(client, LIST, staff["RECEPTIONIST"][1], p=gid(chart["patient"]), kind="XRAY")
    assert body["data"]["patientDocuments"] == {"totalCount": 0, "edges": []}


def test_a_change_is_validated_saved_and_audited(client, clinic1, chart, staff):
    xray = chart["documents"]["XRAY"]
    token = staff["ASSISTANT"][1]
    body = ask(client, UPDATE, token, id=gid(xray),
               input={"teeth": [48, 11, 11], "takenOn": "2026-10-01", "note": " Panorámica "})  # fmt: skip
    assert body["data"]["updatePatientDocument"] == {
        "__typename": "PatientDocument",
        "kind": "XRAY",
        "takenOn": "2026-10-01",
        "teeth": [11, 48],
        "note": "Panorámica",
    }
    with tenant_context(clinic1):
        event = AuditEvent.objects.order_by("-pk").first()
    assert (event.action, event.entity_id) == ("patient_document.update", str(xray.pk))
    assert event.changes["teeth"] == {"from": "[]", "to": "[11, 48]"}


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"teeth": [11, 19]}, "INVALID_TOOTH", "teeth"),
        ({"teeth": [0]}, "INVALID_TOOTH", "teeth"),
        ({"takenOn": "2999-01-01"}, "INVALID_DATE", "takenOn"),
        ({"note": "x" * 2001}, "TOO_LONG", "note"),
    ],
)
def test_a_bad_change_is_coded_and_changes_nothing(
    client, clinic1, chart, staff, change, code, field
):
    before = state(clinic1)
    body = ask(client, UPDATE, staff["DENTIST"][1], id=gid(chart["documents"]["PHOTO"]),
               input=change)  # fmt: skip
    payload = body["data"]["updatePatientDocument"]
    assert payload["__typename"] == "OperationInfo"
    assert [(m["code"], m["field"]) for m in payload["messages"]] == [(code, field)]
    assert state(clinic1) == before


def test_the_front_desk_cannot_touch_a_radiograph_nor_turn_a_consent_into_one(
    client, clinic1, chart, staff
):
    token = staff["RECEPTIONIST"][1]
    before = state(clinic1)
    # A radiograph is not even found: the front desk does not know it exists.
    for query in (ARCHIVE, UNARCHIVE):
        body = ask(client, query, token, id=gid(chart["documents"]["XRAY"]))
        assert operation_codes(next(iter(body["data"].values()))) == ["NOT_FOUND"]
    body = ask(client, UPDATE, token, id=gid(chart["documents"]["XRAY"]), input={"note": "x"})
    assert operation_codes(body["data"]["updatePatientDocument"]) == ["NOT_FOUND"]
    # Its own kinds, yes; but not into a clinical kind.
    body = ask(client, UPDATE, token, id=gid(chart["documents"]["CONSENT"]), input={"kind": "XRAY"})
    assert error_code(body) == "FORBIDDEN"
    assert state(clinic1) == before
    body = ask(
        client, UPDATE, token, id=gid(chart["documents"]["CONSENT"]), input={"note": "Firmado"}
    )
    assert body["data"]["updatePatientDocument"]["note"] == "Firmado"


def test_archive_hides_the_document_and_unarchive_brings_it_back_each_audited(
    client, clinic1, chart, staff
):
    token = staff["DENTIST"][1]
    lab = chart["documents"]["LAB"]
    patient = gid(chart["patient"])
    body = ask(client, ARCHIVE, token, id=gid(lab))
    assert body["data"]["archivePatientDocument"]["archivedAt"] is not None
    listed = ask(client, LIST, token, p=patient)["data"]["patientDocuments"]
    assert gid(lab) not in [edge["node"]["id"] for edge in listed["edges"]]
    archived = ask(client, LIST, token, p=patient, archived=True)["data"]["patientDocuments"]
    assert gid(lab) in [edge["node"]["id"] for edge in archived["edges"]]
    # Archiving twice is a coded refusal that records nothing.
    before = state(clinic1)
    body = ask(client, ARCHIVE, token, id=gid(lab))
    assert operation_codes(body["data"]["archivePatientDocument"]) == ["DOCUMENT_ARCHIVED"]
    assert state(clinic1) == before
    body = ask(client, UNARCHIVE, token, id=gid(lab))
    assert body["data"]["unarchivePatientDocument"] == {
        "__typename": "PatientDocument",
        "archivedAt": None,
    }
    body = ask(client, UNARCHIVE, token, id=gid(lab))
    assert operation_codes(body["data"]["unarchivePatientDocument"]) == ["DOCUMENT_NOT_ARCHIVED"]
    assert [a for a in trail(clinic1) if a[0].startswith("patient_document.")] == [
        ("patient_document.archive", str(lab.pk)),
        ("patient_document.unarchive", str(lab.pk)),
    ]
    with tenant_context(clinic1):
        assert PatientDocument.objects.filter(pk=lab.pk).exists()  # never deleted


def test_another_clinics_ids_find_nothing(client, clinic1, clinic2, chart, staff, make_staff,
                                          token_for):  # fmt: skip
    other_token = token_for(clinic2, make_staff(clinic2, Role.ADMIN))
    before = state(clinic1)
    xray = gid(chart["documents"]["XRAY"])
    body = ask(client, ARCHIVE, other_token, host=HOST2, id=xray)
    assert operation_codes(body["data"]["archivePatientDocument"]) == ["NOT_FOUND"]
    body = ask(client, LIST, other_token, host=HOST2, p=gid(chart["patient"]))
    assert error_code(body) == "NOT_FOUND" or body["data"]["patientDocuments"]["totalCount"] == 0
    assert state(clinic1) == before


def test_the_list_needs_a_clinic_domain_and_a_token(client, chart, staff):
    body = ask(client, LIST, None, p=gid(chart["patient"]))
    assert error_code(body) == "UNAUTHENTICATED"
    body = ask(client, LIST, staff["ADMIN"][1], host="localhost", p=gid(chart["patient"]))
    assert error_code(body) == "TENANT_DOMAIN_ONLY"


def test_the_list_costs_the_same_statements_for_10_and_1000(client, clinic1, staff):
    dentist, token = staff["DENTIST"]
    with tenant_context(clinic1):
        patient = PatientFactory()

    def statements(count: int) -> list[str]:
        with tenant_context(clinic1):
            have = PatientDocument.objects.filter(patient=patient).count()
            for i in range(have, count):
                document(patient, DocumentKind.XRAY if i % 2 else DocumentKind.CONSENT, dentist,
                         preview=bool(i % 3))  # fmt: skip
        ask(client, LIST, token, p=gid(patient), first=100)  # the same warm-up each time
        with CaptureQueriesContext(connection) as queries:
            body = ask(client, LIST, token, p=gid(patient), first=100)
        assert body["data"]["patientDocuments"]["totalCount"] == count
        assert len(body["data"]["patientDocuments"]["edges"]) == min(count, 100)
        return [query["sql"] for query in queries.captured_queries]

    few, many = statements(10), statements(1000)
    # The schema (at most 1), the token with its user, the patient, the page with its count
    # (a window function) and every file of it (joined): downloadUrl and previewUrl are signed
    # without a query.
    assert len(few) == len(many) <= 4, (few, many)


def test_a_document_over_the_storage_quota_leaves_nothing_in_storage(clinic1, make_staff, media):
    """The quota is reserved for the original and its preview together: a preview that would
    not fit must not leave the original's object behind."""
    from django.core.exceptions import ValidationError

    from backend.documents.services import document_upload
    from tests.conftest import stored_objects
    from tests.documents import samples

    content = samples.jpeg(800, 600)
    plan = clinic1.plan
    plan.max_storage_bytes = len(content) + 10  # the original fits, its thumbnail does not
    plan.save(update_fields=["max_storage_bytes"])
    dentist = make_staff(clinic1, Role.DENTIST)
    with tenant_context(clinic1):
        patient = PatientFactory()
        with pytest.raises(ValidationError) as refused:
            document_upload(actor=dentist, patient=patient, kind="XRAY", content=content)
        assert refused.value.code == "PLAN_LIMIT_REACHED"
        assert not StoredFile.objects.exists()
    assert stored_objects(media) == []

"""Nothing clinical reaches a role that may not read clinical records (issue 12, item 5).

A patient of clinica1 gets health data that carries unique sentinel strings: two versions of
the anamnesis (conditions with distinctive labels, medications, notes, allergies), notes
with an addendum, odontogram findings, a treatment plan with items, and allergies and medical
alerts on the patient. Then, as each role:

- every root query field is walked: the documents select every field reachable from it, up
  to the depth limit, through connections, unions and interfaces, generated from the schema
  itself and split to stay under the token limit (``tests/schema_walker.py``);
- every mutation the role may call runs once (with the role-matrix test's input) and selects
  its whole payload the same way.

A receptionist must see no sentinel, no condition (code or label, in English or Spanish), no
id or type name of a clinical record, and null allergies and medical alerts on every patient.
The clinical roles must see every sentinel: the walker provably reaches them, so this test
can fail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import translation
from django.utils.translation import gettext
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.accounts.roles import role_has_permission
from backend.clinical import services as clinical
from backend.clinical.models import ClinicalNote, Condition, Finding
from backend.documents.models import PatientDocument
from backend.files.models import StoredFile
from backend.patients.models import Patient
from backend.patients.services import patient_update
from backend.treatments.models import TreatmentPlanItem
from graphql_api.core.permission_docs import operation_rules
from graphql_api.schema import schema
from tests.accounts.matrix_world import UPLOADS
from tests.accounts.test_role_matrix import CALLS, build_world
from tests.files.multipart import upload_graphql
from tests.ids import global_id, pk_of
from tests.schema_walker import (
    GRAPHQL,
    Leaf,
    Unfillable,
    Walker,
    documents,
    filler,
    objects,
    selected_paths,
    split_by_role,
    tokens,
    with_payload,
)

pytestmark = pytest.mark.django_db

HOST = "clinica1.localhost"
CLINICAL_ROLES = (Role.ADMIN, Role.DENTIST, Role.ASSISTANT)
RULES = {rule.operation: rule for rule in operation_rules(schema)}
# Distinctive conditions: their codes and labels appear nowhere else in the test's data.
CONDITIONS = ("HEPATITIS", "EPILEPSY", "KIDNEY_DISEASE", "CANCER")
CLINICAL_TYPES = {
    "MedicalHistory", "ClinicalNote", "NoteAddendum", "Finding", "ToothChart", "Odontogram",
    "TreatmentPlanItem",
}  # fmt: skip
# Mutations whose payload is not walked: `logout` answers a Boolean and revokes the very
# token the walk runs with. It takes no patient data.
UNWALKED_MUTATIONS = {"logout"}


# --- the patient and their health data -----------------------------------------------------


@dataclass
class HealthWorld:
    ids: dict[str, str]  # the role-matrix world's global IDs, plus the sentinel note
    sentinels: list[str]
    clinical_ids: list[str]
    condition_words: list[str]


def _sentinel(name: str) -> str:
    return f"Centinela-{name}-7q3x"


def seed_health_data(clinic: Any, caller: Any, make_staff: Any) -> HealthWorld:
    """The role-matrix world (one of every object), whose patient gets sentinel health data."""
    ids = build_world(clinic, caller, make_staff)
    dentist = make_staff(clinic, Role.DENTIST)
    sentinels = {name: _sentinel(name) for name in (
        "medications", "conditions-notes", "anamnesis-allergies", "medications-v2",
        "subjective", "objective", "assessment", "plan", "addendum", "draft", "finding",
        "planned-finding", "allergies", "medical-alerts", "radiograph",
    )}  # fmt: skip
    with tenant_context(clinic):
        patient = Patient.objects.get(pk=pk_of(ids["patient"]))
        first = clinical.medical_history_record(
            actor=dentist, patient=patient, data={
                "conditions": list(CONDITIONS), "medications": sentinels["medications"],
                "conditions_notes": sentinels["conditions-notes"],
                "allergies": sentinels["anamnesis-allergies"], "takes_anticoagulants": True,
                "is_pregnant": True,
            },
        )  # fmt: skip
        second = clinical.medical_history_record(
            actor=dentist, patient=patient, data={
                "conditions": list(CONDITIONS), "medications": sentinels["medications-v2"],
                "takes_anticoagulants": True, "is_pregnant": True,
            },
        )  # fmt: skip
        patient.refresh_from_db()
        # The labels that the anamnesis copied stay; the sentinels are added to them.
        patient_update(actor=dentist, patient=patient, data={
            "allergies": f"{patient.allergies} · {sentinels['allergies']}",
            "medical_alerts": f"{patient.medical_alerts} · {sentinels['medical-alerts']}",
        })  # fmt: skip
        note = clinical.note_create(actor=dentist, patient=patient, data={
            field: sentinels[field] for field in ("subjective", "objective", "assessment", "plan")
        })  # fmt: skip
        note = clinical.note_sign(actor=dentist, note=note)
        addendum = clinical.addendum_add(actor=dentist, note=note, text=sentinels["addendum"])
        draft = clinical.note_create(
            actor=dentist, patient=patient, data={"subjective": sentinels["draft"]}
        )
        existing = clinical.finding_record(
            actor=dentist, patient=patient, tooth=36, condition="ROOT_CANAL",
            notes=sentinels["finding"],
        )  # fmt: skip
        planned = clinical.finding_record(
            actor=dentist, patient=patient, tooth=47, condition="EXTRACTION_INDICATED",
            state="PLANNED", notes=sentinels["planned-finding"],
        )  # fmt: skip
        # A radiograph: a clinical document, which the front desk must not even see listed.
        radiograph = PatientDocument.objects.create(
            patient=patient, kind="XRAY", note=sentinels["radiograph"], created_by=dentist,
            original=StoredFile.objects.create(
                key=f"clinics/{clinic.schema_name}/document/centinela.png", purpose="document",
                content_type="image/png", size_bytes=69, sha256="0" * 64,
                original_name="periapical.png", width=1, height=1,
            ),
        )  # fmt: skip
        clinical_ids = [  # each once, in a stable order
            global_id("PatientDocument", radiograph.pk, clinic),
            global_id("MedicalHistory", first.pk, clinic), global_id("MedicalHistory", second.pk, clinic),
            global_id("ClinicalNote", note.pk, clinic), global_id("ClinicalNote", draft.pk, clinic),
            global_id("NoteAddendum", addendum.pk, clinic), global_id("Finding", existing.pk, clinic),
            global_id("Finding", planned.pk, clinic),
            *(global_id("TreatmentPlanItem", pk, clinic) for pk in TreatmentPlanItem.objects.filter(
                plan__patient=patient).values_list("pk", flat=True)),
            *(global_id("ClinicalNote", pk, clinic) for pk in ClinicalNote.objects.filter(
                patient=patient).values_list("pk", flat=True)),
            *(global_id("Finding", pk, clinic) for pk in Finding.objects.filter(
                patient=patient, resolved_at__isnull=True).values_list("pk", flat=True)),
        ]  # fmt: skip
        clinical_ids = list(dict.fromkeys(clinical_ids))
    # The planned sentinel finding is the one the mutations change: the assistant's way to
    # health data in a mutation payload.
    ids = {
        **ids,
        "sentinel_note": global_id("ClinicalNote", note.pk, clinic),
        "finding": global_id("Finding", planned.pk, clinic),
    }
    words = []
    for language in ("en", "es"):
        with translation.override(language):
            words += [str(Condition(code).label) for code in CONDITIONS]
            words += [gettext("Takes anticoagulants"), gettext("Pregnant")]
    return HealthWorld(ids, list(sentinels.values()), clinical_ids, [*CONDITIONS, *words])


# --- running it ------------------------------------------------------------------------------


def post(client: Any, query: str, token: str, language: str = "en") -> dict[str, Any]:
    response = client.post(
        "/graphql", data={"query": query}, content_type="application/json", HTTP_HOST=HOST,
        HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE=language,
    )  # fmt: skip
    assert response.status_code == 200, (query, response.content[:500])
    return response.json()


def codes(body: dict[str, Any]) -> set[str | None]:
    return {(error.get("extensions") or {}).get("code") for error in body.get("errors") or []}


def walk_queries(
    client: Any, world: HealthWorld, role: Role, token: str, language: str
) -> list[dict[str, Any]]:
    """Every root query field, every reachable field; each answer checked for its errors."""
    walker, bodies = Walker(filler(world.ids)), []
    for name in GRAPHQL.query_type.fields:
        rule = RULES[f"query {name}"]
        allowed, refused = split_by_role(walker.root(GRAPHQL.query_type, name), role)
        expected_refusal = (
            {"PUBLIC_DOMAIN_ONLY"} if rule.domain == "platform"
            else None if rule.allows(role) else {"FORBIDDEN"}
        )  # fmt: skip
        for document in documents("query", allowed):
            body = post(client, document, token, language)
            if expected_refusal is None:
                assert "errors" not in body, (role, document, body)
            else:
                assert codes(body) == expected_refusal, (role, body)
                assert not any((body["data"] or {}).values()), (role, body)
            bodies.append(body)
        for document in documents("query", refused):
            body = post(client, document, token, language)
            assert codes(body) == (expected_refusal or {"FORBIDDEN"}), (role, document, body)
            bodies.append(body)
    return bodies


def walk_mutations(
    client: Any, world: HealthWorld, role: Role, token: str, language: str
) -> list[dict[str, Any]]:
    """Each mutation the role may call, once, with its whole payload selected."""
    walker, bodies = Walker(filler(world.ids)), []
    # Those that end something (archive the patient, cancel the visit) last, so that the
    # others still find the world as they need it and answer with their payload.
    ending = ("archive", "deactivate", "cancel", "remove", "void", "refund")
    for name, field in sorted(
        GRAPHQL.mutation_type.fields.items(), key=lambda item: item[0].startswith(ending)
    ):
        rule = RULES[f"mutation {name}"]
        if name in UNWALKED_MUTATIONS or not rule.allows(role) or rule.domain == "platform":
            continue
        text, variables = CALLS[name]
        allowed, _ = split_by_role(walker.selection(field.type, 1), role)
        [selection] = documents("", [Leaf(leaf.path, frozenset()) for leaf in allowed])
        # The role-matrix call, with its payload's selection replaced by the whole payload.
        document = with_payload(text, selection)
        if name in UPLOADS:  # a GraphQL multipart request, with its file
            status, body = upload_graphql(  # its payload holds no translated text
                client, document, host=HOST, token=token, files=UPLOADS[name],
                variables=_filled(variables, world.ids),
            )  # fmt: skip
        else:
            response = client.post(
                "/graphql",
                data={"query": document, "variables": _filled(variables, world.ids)},
                content_type="application/json", HTTP_HOST=HOST,
                HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE=language,
            )  # fmt: skip
            status, body = response.status_code, response.json()
        assert status == 200, (role, name, body)
        assert "errors" not in body, (role, name, body)
        bodies.append(body)
    return bodies


def _filled(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: _filled(item, ids) for key, item in value.items()}
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    return value


def leaks(bodies: list[dict[str, Any]], world: HealthWorld) -> dict[str, list[str]]:
    """What of the clinical data the answers show, by kind."""
    raw = json.dumps(bodies, ensure_ascii=False)
    text = raw.casefold()
    typenames = {o.get("__typename") for body in bodies for o in objects(body.get("data"))}
    return {
        "sentinels": [s for s in world.sentinels if s.casefold() in text],
        "conditions": [w for w in world.condition_words if w.casefold() in text],
        "ids": [i for i in world.clinical_ids if i in raw],  # base64: case matters
        "types": sorted(CLINICAL_TYPES & typenames),
    }


@pytest.mark.parametrize(
    ("role", "language"),
    [(Role.RECEPTIONIST, "en"), (Role.RECEPTIONIST, "es"), *((r, "en") for r in CLINICAL_ROLES)],
)
def test_no_clinical_value_reaches_a_role_without_clinical_view(
    client, clinic1, make_staff, token_for, role, language
):
    caller = make_staff(clinic1, role)
    world = seed_health_data(clinic1, caller, make_staff)
    token = token_for(clinic1, caller)

    queries = walk_queries(client, world, role, token, language)
    mutations = walk_mutations(client, world, role, token, language)

    patients = [o for body in queries + mutations for o in objects(body.get("data"))
                if o.get("__typename") == "Patient"]  # fmt: skip
    assert patients, "the walk reached no patient"
    if role_has_permission(role, "clinical.view"):  # type: ignore[arg-type]
        # The walker reaches every piece of health data: a leak would be seen.
        seen = leaks(queries, world)
        assert seen["sentinels"] == world.sentinels
        assert set(seen["conditions"]) >= {*CONDITIONS, "Hepatitis", "Epilepsy", "Cancer"}
        assert seen["ids"] == world.clinical_ids
        assert set(seen["types"]) == CLINICAL_TYPES
        assert leaks(mutations, world)["sentinels"], "no mutation payload showed health data"
    else:
        assert leaks(queries + mutations, world) == {
            "sentinels": [], "conditions": [], "ids": [], "types": []
        }  # fmt: skip
        assert {(p["allergies"], p["medicalAlerts"]) for p in patients} == {(None, None)}
        assert all(p["hasAlerts"] for p in patients if p["id"] == world.ids["patient"])
        # The receptionist's own mutations (updatePatient, bookings) were walked too.
        assert any(
            o.get("__typename") == "Patient" and o["id"] == world.ids["patient"]
            for body in mutations
            for o in objects(body["data"])
        )


def test_every_root_field_and_required_argument_is_walked(client, clinic1, make_staff):
    """The walk covers the whole schema: a new root field or required argument that the
    walker cannot fill fails here, instead of going unchecked."""
    world = seed_health_data(clinic1, make_staff(clinic1, Role.ADMIN), make_staff)
    walker = Walker(filler(world.ids))
    for name in GRAPHQL.query_type.fields:
        leaves = walker.root(GRAPHQL.query_type, name)
        assert documents("query", leaves), name
    assert set(GRAPHQL.mutation_type.fields) - UNWALKED_MUTATIONS <= set(CALLS)
    with pytest.raises(Unfillable):
        filler(world.ids)("Query", "somethingNew", "mystery", None)


def test_documents_are_split_under_the_token_limit_without_losing_a_field(clinic1, make_staff):
    world = seed_health_data(clinic1, make_staff(clinic1, Role.ADMIN), make_staff)
    leaves = Walker(filler(world.ids)).root(GRAPHQL.query_type, "cashReport")
    whole = documents("query", leaves)
    assert len(whole) == 1
    split = documents("query", leaves, budget=80)
    assert len(split) >= 4
    assert all(tokens(document) <= 80 for document in split)
    assert (
        set().union(*map(selected_paths, split))
        == selected_paths(whole[0])
        == {leaf.path for leaf in leaves}
    )

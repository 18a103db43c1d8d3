"""Nothing clinical reaches a role that may not read clinical records (issue 12, item 5).

A patient of clinica1 gets health data that carries unique sentinel strings: two versions of
the anamnesis (conditions with distinctive labels, medications, notes, allergies), notes
with an addendum, odontogram findings, a treatment plan with items, and allergies and medical
alerts on the patient. Then, as each role:

- every root query field is walked: the documents select every field reachable from it, up
  to the depth limit, through connections, unions and interfaces, generated from the schema
  itself and split to stay under the token limit;
- every mutation the role may call runs once (with the role-matrix test's input) and selects
  its whole payload the same way.

A receptionist must see no sentinel, no condition (code or label, in English or Spanish), no
id or type name of a clinical record, and null allergies and medical alerts on every patient.
The clinical roles must see every sentinel: the walker provably reaches them, so this test
can fail.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext
from django_tenants.utils import tenant_context
from graphql import (
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLUnionType,
    OperationDefinitionNode,
    Source,
    TokenKind,
    get_named_type,
    is_leaf_type,
    is_required_argument,
    parse,
)
from graphql.language import Lexer
from strawberry.permission import PermissionExtension
from strawberry.relay import from_base64, to_base64

from backend.accounts.models import Role
from backend.accounts.roles import role_has_permission
from backend.clinical import services as clinical
from backend.clinical.models import ClinicalNote, Condition, Finding
from backend.patients.models import Patient
from backend.patients.services import patient_update
from backend.treatments.models import TreatmentPlanItem
from graphql_api.permission_docs import operation_rules
from graphql_api.permissions import HasPermission
from graphql_api.schema import schema
from tenants_core.context import current_timezone
from tests.accounts.test_role_matrix import CALLS, build_world
from tests.dates import MONDAY

pytestmark = pytest.mark.django_db

HOST = "clinica1.localhost"
CLINICAL_ROLES = (Role.ADMIN, Role.DENTIST, Role.ASSISTANT)
GRAPHQL = schema._schema
RULES = {rule.operation: rule for rule in operation_rules()}
# Distinctive conditions: their codes and labels appear nowhere else in the test's data.
CONDITIONS = ("HEPATITIS", "EPILEPSY", "KIDNEY_DISEASE", "CANCER")
CLINICAL_TYPES = {
    "MedicalHistory", "ClinicalNote", "NoteAddendum", "Finding", "ToothChart", "Odontogram",
    "TreatmentPlanItem",
}  # fmt: skip
# Mutations whose payload is not walked: `logout` answers a Boolean and revokes the very
# token the walk runs with. It takes no patient data.
UNWALKED_MUTATIONS = {"logout"}


# --- the walker: documents generated from the schema ---------------------------------------


class Unfillable(Exception):
    """A required argument the walker has no value for: the test must fail, not skip it."""


@dataclass(frozen=True)
class Step:
    field: str
    arguments: str = ""
    on: str | None = None  # the type condition of the inline fragment around this field


Path = tuple[Step, ...]


@dataclass(frozen=True)
class Leaf:
    path: Path
    permissions: frozenset[str]  # of the nested fields on the way (e.g. TreatmentPlan.items)


def _field_permissions() -> dict[tuple[str, str], frozenset[str]]:
    """``(type, field) → permissions`` of the nested fields guarded by their own extension."""
    guarded = {}
    for type_name, graphql_type in GRAPHQL.type_map.items():
        definition = (graphql_type.extensions or {}).get("strawberry-definition")
        for field in getattr(definition, "fields", None) or []:
            needed = frozenset(
                str(permission)
                for extension in field.extensions
                if isinstance(extension, PermissionExtension)
                for check in extension.permissions
                if isinstance(check, HasPermission)
                for permission in check.permissions
            )
            if needed:
                guarded[type_name, schema.config.name_converter.get_graphql_name(field)] = needed
    return guarded


FIELD_PERMISSIONS = _field_permissions()


class Walker:
    """Every leaf reachable from a root field, as paths; ``fill`` gives required arguments."""

    def __init__(self, fill: Callable[[str, str, str, Any], str]) -> None:
        self.fill = fill
        self.max_depth = settings.GRAPHQL_MAX_DEPTH  # root fields are at depth 0

    def _arguments(self, owner: str, name: str, field: Any) -> str:
        given = [
            f"{arg}: {self.fill(owner, name, arg, argument.type)}"
            for arg, argument in field.args.items()
            if is_required_argument(argument)
        ]
        return f"({', '.join(given)})" if given else ""

    def _object(self, object_type: GraphQLObjectType, depth: int) -> list[Leaf]:
        leaves = [Leaf((Step("__typename"),), frozenset())]
        for name, field in object_type.fields.items():
            step = Step(name, self._arguments(object_type.name, name, field))
            needed = FIELD_PERMISSIONS.get((object_type.name, name), frozenset())
            if is_leaf_type(get_named_type(field.type)):
                leaves.append(Leaf((step,), needed))
            elif depth + 1 <= self.max_depth:
                leaves += [
                    Leaf((step, *leaf.path), needed | leaf.permissions)
                    for leaf in self.selection(field.type, depth + 1)
                ]
        return leaves

    def selection(self, output_type: Any, depth: int) -> list[Leaf]:
        """The leaves under a value of ``output_type`` whose fields are at ``depth``."""
        named = get_named_type(output_type)
        if not isinstance(named, GraphQLUnionType | GraphQLInterfaceType):
            return self._object(named, depth)
        leaves = [Leaf((Step("__typename"),), frozenset())]
        for member in GRAPHQL.get_possible_types(named):
            leaves += [
                Leaf((replace(leaf.path[0], on=member.name), *leaf.path[1:]), leaf.permissions)
                for leaf in self._object(member, depth)
            ]
        return leaves

    def root(self, root_type: GraphQLObjectType, name: str) -> list[Leaf]:
        field = root_type.fields[name]
        step = Step(name, self._arguments(root_type.name, name, field))
        if is_leaf_type(get_named_type(field.type)):
            return [Leaf((step,), frozenset())]
        return [
            Leaf((step, *leaf.path), leaf.permissions) for leaf in self.selection(field.type, 1)
        ]


def _print(paths: list[Path]) -> str:
    """A selection set (``{ … }``) holding exactly these paths."""
    trie: dict[Step, Any] = {}
    for path in paths:
        node = trie
        for step in path:
            node = node.setdefault(step, {})

    def render(node: dict[Step, Any]) -> str:
        plain, fragments = [], {}
        for step, children in node.items():
            text = step.field + step.arguments + (f" {render(children)}" if children else "")
            if step.on:
                fragments.setdefault(step.on, []).append(text)
            else:
                plain.append(text)
        parts = plain + [f"... on {on} {{ {' '.join(texts)} }}" for on, texts in fragments.items()]
        return "{ " + " ".join(parts) + " }"

    return render(trie)


def _tokens(document: str) -> int:
    lexer, count = Lexer(Source(document)), 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


def documents(operation: str, leaves: list[Leaf], budget: int | None = None) -> list[str]:
    """The paths packed, in schema order, into as few documents as the token limit allows."""
    budget = budget or settings.GRAPHQL_MAX_TOKENS * 9 // 10
    docs: list[str] = []
    batch: list[Path] = []
    for leaf in leaves:
        candidate = f"{operation} {_print([*batch, leaf.path])}"
        if batch and _tokens(candidate) > budget:
            docs.append(f"{operation} {_print(batch)}")
            batch = []
        batch.append(leaf.path)
        assert _tokens(f"{operation} {_print(batch)}") <= budget, leaf.path
    if batch:
        docs.append(f"{operation} {_print(batch)}")
    return docs


def split_by_role(leaves: list[Leaf], role: Role) -> tuple[list[Leaf], list[Leaf]]:
    """The leaves the role may read, and those behind a nested permission it lacks."""
    allowed, refused = [], []
    for leaf in leaves:
        held = all(role_has_permission(role, p) for p in leaf.permissions)  # type: ignore[arg-type]
        (allowed if held else refused).append(leaf)
    return allowed, refused


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
        "planned-finding", "allergies", "medical-alerts",
    )}  # fmt: skip
    with tenant_context(clinic):
        patient = Patient.objects.get(pk=from_base64(ids["patient"])[1])
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
        clinical_ids = [  # each once, in a stable order
            to_base64("MedicalHistory", first.pk), to_base64("MedicalHistory", second.pk),
            to_base64("ClinicalNote", note.pk), to_base64("ClinicalNote", draft.pk),
            to_base64("NoteAddendum", addendum.pk), to_base64("Finding", existing.pk),
            to_base64("Finding", planned.pk),
            *(to_base64("TreatmentPlanItem", pk) for pk in TreatmentPlanItem.objects.filter(
                plan__patient=patient).values_list("pk", flat=True)),
            *(to_base64("ClinicalNote", pk) for pk in ClinicalNote.objects.filter(
                patient=patient).values_list("pk", flat=True)),
            *(to_base64("Finding", pk) for pk in Finding.objects.filter(
                patient=patient, resolved_at__isnull=True).values_list("pk", flat=True)),
        ]  # fmt: skip
        clinical_ids = list(dict.fromkeys(clinical_ids))
    # The planned sentinel finding is the one the mutations change: the assistant's way to
    # health data in a mutation payload.
    ids = {
        **ids,
        "sentinel_note": to_base64("ClinicalNote", note.pk),
        "finding": to_base64("Finding", planned.pk),
    }
    words = []
    for language in ("en", "es"):
        with translation.override(language):
            words += [str(Condition(code).label) for code in CONDITIONS]
            words += [gettext("Takes anticoagulants"), gettext("Pregnant")]
    return HealthWorld(ids, list(sentinels.values()), clinical_ids, [*CONDITIONS, *words])


def filler(world: HealthWorld) -> Callable[[str, str, str, Any], str]:
    """A GraphQL literal for each required argument the schema has; anything else fails."""
    today = timezone.localdate(timezone=current_timezone())
    by_type = {
        "Patient": "patient", "Professional": "professional", "Chair": "chair",
        "Appointment": "appointment", "ClinicalNote": "sentinel_note", "TreatmentPlan": "plan",
        "Receipt": "receipt",
    }  # fmt: skip

    def fill(owner: str, field: str, argument: str, argument_type: Any) -> str:
        if argument == "id" and owner == "Query":
            returned = get_named_type(GRAPHQL.query_type.fields[field].type).name
            if returned in by_type:
                return json.dumps(world.ids[by_type[returned]])
        values = {
            "patientId": json.dumps(world.ids["patient"]),
            "professionalId": json.dumps(world.ids["professional"]),
            "date": f'"{MONDAY}"',  # the Monday of the world's appointment
            "durationMinutes": "30",
            "subdomain": '"clinica1"',
        }
        if (owner, field) == ("Query", "cashReport") and argument in ("from", "to"):
            return json.dumps(
                (today - dt.timedelta(days=1) if argument == "from" else today).isoformat()
            )
        if argument in values:
            return values[argument]
        raise Unfillable(f"{owner}.{field}({argument}: {argument_type})")

    return fill


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


def objects(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from objects(item)
    elif isinstance(value, list):
        for item in value:
            yield from objects(item)


def walk_queries(
    client: Any, world: HealthWorld, role: Role, token: str, language: str
) -> list[dict[str, Any]]:
    """Every root query field, every reachable field; each answer checked for its errors."""
    walker, bodies = Walker(filler(world)), []
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
    walker, bodies = Walker(filler(world)), []
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
        operation = next(
            d for d in parse(text).definitions if isinstance(d, OperationDefinitionNode)
        )
        payload = operation.selection_set.selections[0].selection_set.loc  # type: ignore[attr-defined]
        document = text[: payload.start] + selection.strip() + text[payload.end :]
        response = client.post(
            "/graphql",
            data={"query": document, "variables": _filled(variables, world.ids)},
            content_type="application/json", HTTP_HOST=HOST,
            HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE=language,
        )  # fmt: skip
        body = response.json()
        assert response.status_code == 200, (role, name, body)
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
    walker = Walker(filler(world))
    for name in GRAPHQL.query_type.fields:
        leaves = walker.root(GRAPHQL.query_type, name)
        assert documents("query", leaves), name
    assert set(GRAPHQL.mutation_type.fields) - UNWALKED_MUTATIONS <= set(CALLS)
    with pytest.raises(Unfillable):
        filler(world)("Query", "somethingNew", "mystery", None)


def _paths(document: str) -> set[Path]:
    """The leaf paths a document selects (the inverse of ``documents``)."""
    from graphql import FieldNode, InlineFragmentNode

    def walk(selection_set: Any, on: str | None = None) -> Iterator[Path]:
        for node in selection_set.selections:
            if isinstance(node, InlineFragmentNode):
                yield from walk(node.selection_set, node.type_condition.name.value)
                continue
            assert isinstance(node, FieldNode)
            arguments = ", ".join(
                f"{a.name.value}: {json.dumps(a.value.value)}"  # type: ignore[attr-defined]
                for a in node.arguments or ()
            )
            step = Step(node.name.value, f"({arguments})" if arguments else "", on)
            if node.selection_set is None:
                yield (step,)
            else:
                yield from ((step, *rest) for rest in walk(node.selection_set))

    [operation] = parse(document).definitions
    return set(walk(operation.selection_set))  # type: ignore[attr-defined]


def test_documents_are_split_under_the_token_limit_without_losing_a_field(clinic1, make_staff):
    world = seed_health_data(clinic1, make_staff(clinic1, Role.ADMIN), make_staff)
    leaves = Walker(filler(world)).root(GRAPHQL.query_type, "cashReport")
    whole = documents("query", leaves)
    assert len(whole) == 1
    split = documents("query", leaves, budget=80)
    assert len(split) >= 4
    assert all(_tokens(document) <= 80 for document in split)
    assert set().union(*map(_paths, split)) == _paths(whole[0]) == {leaf.path for leaf in leaves}

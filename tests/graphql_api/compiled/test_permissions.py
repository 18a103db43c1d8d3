"""Refusals are the normal execution's, whoever asks and wherever: the compiled path runs each
root field's own permission classes first and declines on any refusal, so the client gets the
very bytes it always got (issue 21: "a test per role and per covered field shows that refusals
are identical"). Field-level rules that depend on the role (health data) are answered by the
compiled statement itself, and must match too."""

from __future__ import annotations

import json

import pytest

from backend.accounts.models import Role
from tests.graphql_api.compiled.harness import equivalent

pytestmark = pytest.mark.django_db

CALLERS = [*Role.values, "nobody", "wrong", "other_clinic"]


def _token(world, caller):
    return {"nobody": None, "wrong": "not-a-token", "other_clinic": world.other_clinic_token}.get(
        caller, world.tokens.get(caller)
    )


def _roots(world):
    patient = world.ids["Patient"][1]
    appointment = world.ids["Appointment"][3]
    return {
        "appointments": (
            "{ appointments(first: 5) { totalCount edges { node { id status } } } }",
            {},
        ),
        "appointment": (
            "query($id: ID!) { appointment(id: $id) { id startsAt patient { fullName } } }",
            {"id": appointment},
        ),
        "patients": (
            '{ patients(search: "jose") { totalCount edges { node { id fullName } } } }',
            {},
        ),
        "patient": (
            "query($id: ID!) { patient(id: $id) { id fullName hasAlerts } }",
            {"id": patient},
        ),
    }


@pytest.mark.parametrize("root", ["appointments", "appointment", "patients", "patient"])
@pytest.mark.parametrize("caller", CALLERS)
def test_refusals_are_identical_and_never_compiled(world, root, caller):
    query, variables = _roots(world)[root]
    answer = equivalent(world.host, query, variables, _token(world, caller))
    body = json.loads(answer.body)
    allowed = caller in Role.values
    assert ("errors" not in body) == allowed, body
    assert answer.compiled == allowed
    if not allowed:
        code = body["errors"][0]["extensions"]["code"]
        assert code == "UNAUTHENTICATED", body


@pytest.mark.parametrize("root", ["appointments", "appointment", "patients", "patient"])
@pytest.mark.parametrize("caller", [Role.ADMIN, "nobody"])
def test_the_public_domain_refuses_alike(world, root, caller):
    query, variables = _roots(world)[root]
    answer = equivalent("localhost", query, variables, _token(world, caller))
    assert not answer.compiled
    assert json.loads(answer.body)["errors"][0]["extensions"]["code"] in (
        "TENANT_DOMAIN_ONLY",
        "UNAUTHENTICATED",
    )


@pytest.mark.parametrize("role", Role.values)
def test_health_data_follows_the_role_in_the_statement(world, role):
    query = """{ patients(first: 30, includeArchived: true) { edges { node {
        id allergies medicalAlerts hasAlerts } } } }"""
    answer = equivalent(world.host, query, {}, world.tokens[role])
    assert answer.compiled
    nodes = [edge["node"] for edge in json.loads(answer.body)["data"]["patients"]["edges"]]
    shown = any(node["allergies"] for node in nodes)
    assert shown == (role in (Role.ADMIN, Role.DENTIST, Role.ASSISTANT)), (role, nodes[:3])
    assert any(node["hasAlerts"] for node in nodes)


def test_an_id_of_another_clinic_is_not_found_alike(world):
    query = "query($id: ID!) { patient(id: $id) { id fullName } }"
    for patient in world.other_ids["Patient"]:
        answer = equivalent(world.host, query, {"id": patient}, world.tokens[Role.ADMIN])
        assert not answer.compiled
        assert json.loads(answer.body)["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_another_clinics_rows_never_appear(world):
    query = "{ appointments(first: 100) { edges { node { id patient { lastName } professional { fullName } } } } }"
    answer = equivalent(world.host, query, {}, world.tokens[Role.ADMIN])
    assert answer.compiled
    assert b"Otra" not in answer.body


def test_a_stored_value_the_field_refuses_declines_to_the_normal_error(world):
    """An enum value outside the enum (no constraint forbids it on ``sex``): the normal
    execution reports the field's error with its path; the compiled statement marks it and
    declines, so the client gets exactly that."""
    from django_tenants.utils import tenant_context

    from backend.patients.models import Patient

    with tenant_context(world.clinic):
        Patient.objects.filter(first_name="Luis").update(sex="Z")
    query = "{ patients(first: 50) { edges { node { id fullName sex } } } }"
    answer = equivalent(world.host, query, {}, world.tokens[Role.ADMIN])
    assert not answer.compiled
    body = json.loads(answer.body)
    assert body["errors"][0]["path"][-1] == "sex"

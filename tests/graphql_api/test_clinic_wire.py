"""What every answer carries of its clinic: global IDs minted with the clinic in them, and
``DateTime`` values in the clinic's time zone to the second (graphql_api/core/ids.py and
core/datetimes.py).

Two clinics of this module's own, provisioned fresh, so their rows are numbered alike: the same
world built in each gives every object the same primary key in both. One is in Lima (-05:00),
the other in Kolkata (+05:30), an offset that no default could give by accident. Every query of
the schema is walked in both (tests/schema_walker.py), every object's ``id`` and every
``DateTime`` read from the answers by the schema's types; every operation that takes an ID is
sent the other clinic's IDs (tests/accounts/matrix_world.py's calls).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import tenant_context
from graphql import GraphQLObjectType, get_named_type, is_leaf_type

from backend.accounts.auth import _token_issue
from backend.accounts.models import Role, User
from tenants_core.models import Clinic
from tenants_core.services import clinic_provision
from tests.accounts.matrix_calls import request
from tests.accounts.matrix_world import TYPE_NAMES, build_world, snapshot
from tests.accounts.test_role_matrix import CLINIC_SIDE, _op, _takes_ids
from tests.conftest import TEST_PASSWORD, error_code, graphql, refusal_codes
from tests.factories import StaffFactory
from tests.ids import pk_of, sibling_id, type_of
from tests.schema_walker import GRAPHQL, Walker, documents, filler, split_by_role

LIMA, KOLKATA = "America/Lima", "Asia/Kolkata"
QUERY = GRAPHQL.query_type
WIRE_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")
# Object types that implement Node but only the platform's domain answers (no clinic part).
PLATFORM_NODES = {"ClinicBackup"}
LOGIN = """mutation($e: String!, $p: String!) { login(email: $e, password: $p) {
  __typename ... on AuthToken { expiresAt user { __typename id email } } } }"""


@dataclass
class Twin:
    clinic: Clinic
    host: str
    admin: User
    token: str
    world: dict[str, str]


def _provision(subdomain: str, zone: str) -> Twin:
    clinic = clinic_provision(
        subdomain=subdomain, name=subdomain.title(), legal_id="20600000005",
        email=f"hola@{subdomain}.pe", plan="professional", admin_email=f"admin@{subdomain}.pe",
        admin_password=TEST_PASSWORD, timezone=zone,
    )  # fmt: skip
    counter = iter(range(1, 1000))

    def make_staff(clinic: Clinic, role: Role | str = Role.DENTIST, **fields: Any) -> User:
        with tenant_context(clinic):
            return StaffFactory(
                email=f"{str(role).lower()}{next(counter)}@{clinic.subdomain}.pe", role=role
            )

    with transaction.atomic():  # committed when built, as a request's work would be
        admin = make_staff(clinic, Role.ADMIN)
        world = build_world(clinic, admin, make_staff)
        with tenant_context(clinic):
            token = _token_issue(admin).raw
    return Twin(clinic, f"{subdomain}.{settings.BASE_DOMAIN}", admin, token, world)


@pytest.fixture(scope="module")
def twins(django_db_setup: None, django_db_blocker: Any) -> Iterator[tuple[Twin, Twin]]:
    """The Lima clinic and the Kolkata one, committed, with the same world (and pks) each."""
    made: list[Clinic] = []
    with django_db_blocker.unblock():
        try:
            lima = _provision("gemela-lima", LIMA)
            made.append(lima.clinic)
            kolkata = _provision("gemela-kolkata", KOLKATA)
            made.append(kolkata.clinic)
            yield lima, kolkata
        finally:
            connection.set_schema_to_public()
            for clinic in made:
                clinic.delete(force_drop=True)


@pytest.fixture
def unblocked(django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock():
        yield


def _walk(client: Any, twin: Twin) -> list[dict[str, Any]]:
    """Every root query, every field the admin may read, in as few documents as fit."""
    walker = Walker(filler({**twin.world, "sentinel_note": twin.world["note"]}))
    bodies = []
    for name in GRAPHQL.query_type.fields:
        allowed, _ = split_by_role(walker.root(GRAPHQL.query_type, name), Role.ADMIN)
        for document in documents("query", allowed):
            status, body = graphql(client, document, host=twin.host, token=twin.token)
            assert status == 200, body
            bodies.append(body)
    return bodies


def _typed(value: Any, owner: GraphQLObjectType) -> Iterator[tuple[str, str, str, Any]]:
    """``(type, field, scalar, value)`` of every leaf under an object of ``owner`` (or of the
    type its ``__typename`` names), read by the schema's types."""
    if isinstance(value, list):
        for item in value:
            yield from _typed(item, owner)
        return
    if not isinstance(value, dict):
        return
    if "__typename" in value:
        owner = GRAPHQL.type_map[value["__typename"]]  # type: ignore[assignment]
    for key, item in value.items():
        if key == "__typename" or item is None:
            continue
        named = get_named_type(owner.fields[key].type)
        if not is_leaf_type(named):
            yield from _typed(item, named)  # type: ignore[arg-type]
            continue
        for leaf in item if isinstance(item, list) else [item]:
            yield owner.name, key, named.name, leaf


Leaves = list[tuple[str, str, str, Any]]


def _leaves(bodies: list[dict[str, Any]], root: GraphQLObjectType) -> Leaves:
    return [leaf for body in bodies for leaf in _typed(body.get("data") or {}, root)]


def _node_ids(leaves: Leaves) -> dict[str, dict[str, str]]:
    """Every object's ``id`` by type: ``{type: {pk: id}}``."""
    found: dict[str, dict[str, str]] = {}
    for owner, field, _, value in leaves:
        if field == "id" and owner not in PLATFORM_NODES and _is_node(owner):
            found.setdefault(owner, {})[pk_of(value)] = value
    return found


def _is_node(type_name: str) -> bool:
    graphql_type = GRAPHQL.type_map[type_name]
    return isinstance(graphql_type, GraphQLObjectType) and any(
        interface.name == "Node" for interface in graphql_type.interfaces
    )


# What the world lacks, written the same way in both clinics (so numbered alike): a payment,
# which only a mutation answers, an anamnesis and an addendum.
REST = """mutation($p: ID!, $n: ID!) {
  recordPayment(input: {patientId: $p, amount: "10.00", method: CASH}) { __typename ... on Payment { id } }
  recordMedicalHistory(patientId: $p, input: {allergies: "Látex"}) { __typename ... on MedicalHistory { id } }
  addNoteAddendum(noteId: $n, text: "Corrección") { __typename ... on NoteAddendum { id } }
}"""  # fmt: skip


def _write_the_rest(client: Any, twin: Twin) -> Leaves:
    variables = {"p": twin.world["patient"], "n": twin.world["signed_note"]}
    status, body = graphql(client, REST, host=twin.host, token=twin.token, variables=variables)
    assert status == 200, body
    assert "errors" not in body, body
    return _leaves([body], GRAPHQL.mutation_type)


def test_the_same_row_number_in_two_clinics_has_two_ids_for_every_node_type(
    client, twins, unblocked
):
    lima, kolkata = twins
    here = _node_ids(_write_the_rest(client, lima) + _leaves(_walk(client, lima), QUERY))
    there = _node_ids(_write_the_rest(client, kolkata) + _leaves(_walk(client, kolkata), QUERY))
    every_node_type = {
        name for name in GRAPHQL.type_map if _is_node(name) and name not in PLATFORM_NODES
    }
    assert set(here) == set(there) == every_node_type, every_node_type ^ set(here)
    for type_name in every_node_type:
        shared = here[type_name].keys() & there[type_name].keys()
        assert shared, type_name  # the same row numbers in both clinics...
        for pk in shared:  # ... never the same ID
            assert here[type_name][pk] != there[type_name][pk], (type_name, pk)
            assert type_of(here[type_name][pk]) == type_of(there[type_name][pk]) == type_name


def test_an_id_answered_by_one_clinic_is_refused_by_the_other_where_that_row_exists(
    client, twins, unblocked
):
    lima, kolkata = twins
    query = "query($id: ID!) { patient(id: $id) { id fullName } }"
    mine = graphql(client, query, host=lima.host, token=lima.token,
                   variables={"id": lima.world["patient"]})[1]  # fmt: skip
    assert mine["data"]["patient"]["id"] == lima.world["patient"]
    theirs = graphql(client, query, host=lima.host, token=lima.token,
                     variables={"id": kolkata.world["patient"]})[1]  # fmt: skip
    unknown = graphql(client, query, host=lima.host, token=lima.token,
                      variables={"id": sibling_id(lima.world["patient"], 987654)})[1]  # fmt: skip
    assert pk_of(kolkata.world["patient"]) == pk_of(lima.world["patient"])
    assert error_code(theirs) == "NOT_FOUND"
    assert theirs["data"] is None
    # As an unknown ID is answered: the same code and message, nothing told about the row.
    old_shape = graphql(client, query, host=lima.host, token=lima.token,
                        variables={"id": "UGF0aWVudDox"})[1]  # base64("Patient:1"), unprefixed  # fmt: skip
    assert error_code(old_shape) == "NOT_FOUND"
    assert theirs["errors"][0]["message"] == old_shape["errors"][0]["message"]
    assert error_code(unknown) == "NOT_FOUND"
    assert theirs["errors"][0]["message"] == unknown["errors"][0]["message"]


def _snapshots(*twins: Twin) -> tuple[Any, ...]:
    with transaction.atomic():
        return tuple(snapshot(twin.clinic) for twin in twins)


@pytest.mark.parametrize("access", [a for a in CLINIC_SIDE if _takes_ids(a)], ids=_op)
def test_another_clinics_ids_of_rows_that_exist_here_are_not_found(
    client, twins, unblocked, access
):
    """The Kolkata clinic's IDs sent to the Lima clinic, which has a row of the same type and
    number for each: NOT_FOUND, and nothing of either clinic changes."""
    lima, kolkata = twins
    assert {pk_of(kolkata.world[name]) for name in TYPE_NAMES} == {
        pk_of(lima.world[name]) for name in TYPE_NAMES
    }
    before = _snapshots(lima, kolkata)
    body = request(client, access, lima.host, lima.token, kolkata.world)
    assert "NOT_FOUND" in refusal_codes(body, access.field), body
    assert _snapshots(lima, kolkata) == before


# Fields that must be among those checked: the two shapes the issue found, and the rest of a
# front desk's day (agenda, receipts, audit, messages, files, the assistant's conversations).
MUST_SEE = {
    "AuthToken.expiresAt", "Appointment.startsAt", "Appointment.endsAt", "Receipt.issuedAt",
    "AuditEvent.createdAt", "Notification.sendAt", "PatientDocument.createdAt",
    "AssistantConversation.createdAt", "Slot.startsAt",
}  # fmt: skip


@pytest.mark.parametrize("which", ["lima", "kolkata"])
def test_every_datetime_is_in_the_clinics_zone_to_the_second(client, twins, unblocked, which):
    twin = dict(zip(("lima", "kolkata"), twins, strict=True))[which]
    zone = ZoneInfo(twin.clinic.timezone)
    leaves = _leaves(_walk(client, twin), QUERY)
    status, login = graphql(
        client, LOGIN, host=twin.host, variables={"e": twin.admin.email, "p": TEST_PASSWORD}
    )
    assert status == 200, login
    assert login["data"]["login"]["__typename"] == "AuthToken", login
    leaves += _typed(login["data"], GRAPHQL.mutation_type)
    seen = set()
    for owner, field, scalar, text in leaves:
        if scalar != "DateTime":
            continue
        assert WIRE_DATETIME.fullmatch(text), (owner, field, text)
        instant = dt.datetime.fromisoformat(text)
        assert instant.utcoffset() == instant.astimezone(zone).utcoffset(), (owner, field, text)
        seen.add(f"{owner}.{field}")
    assert seen >= MUST_SEE, MUST_SEE - seen
    assert len(seen) >= 30, sorted(seen)

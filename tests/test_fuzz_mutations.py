"""Every mutation, driven with generated input (hypothesis): random and huge strings, Unicode,
odd numbers, wrong types, missing fields, and IDs of another clinic. Never a 5xx; every
refusal carries a code; and a refused call writes nothing."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strawberry.relay import to_base64

from graphql_api.schema import schema

pytestmark = pytest.mark.django_db

GRAPHQL_SCHEMA = schema._schema
MUTATIONS = sorted(GRAPHQL_SCHEMA.mutation_type.fields)
NODE_TYPES = [
    "Patient", "Professional", "Chair", "Appointment", "StaffUser", "ClinicalNote", "Finding",
    "Procedure", "TreatmentPlan", "TreatmentPlanItem", "Charge", "Receipt", "Payment", "TimeOff",
]  # fmt: skip

texts = st.one_of(
    st.text(max_size=40),
    st.text(
        alphabet=st.characters(
            min_codepoint=0x80, max_codepoint=0x10FFFF, blacklist_categories=["Cs"]
        ),
        max_size=20,
    ),
    st.just("x" * 5000),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-1",
            "1e30",
            "NaN",
            "sNaN",
            "Infinity",
            "null",
            "'; DROP TABLE x; --",
            "%00",
            "\x00",
            "\ud800",  # a lone surrogate: json.dumps writes it as an escape
            "a\udfffb",
        ]
    ),
)
numbers = st.one_of(
    st.integers(min_value=-(2**40), max_value=2**40), st.sampled_from([0, -1, 2**31, 2**63])
)
decimals = st.one_of(st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str), texts)
ids = st.one_of(
    st.builds(
        lambda t, pk: to_base64(t, pk),
        st.sampled_from(NODE_TYPES),
        st.integers(min_value=1, max_value=4),
    ),
    texts,
)
datetimes = st.one_of(
    st.datetimes(timezones=st.just(__import__("datetime").UTC)).map(lambda d: d.isoformat()), texts
)
dates = st.one_of(st.dates().map(lambda d: d.isoformat()), texts)
wrong_type = st.one_of(
    st.booleans(),
    numbers,
    st.lists(st.integers(), max_size=3),
    st.none(),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def values_for(graphql_type: Any, depth: int = 0, wrong_types: bool = True) -> st.SearchStrategy:
    nullable = not isinstance(graphql_type, GraphQLNonNull)
    inner = graphql_type.of_type if isinstance(graphql_type, GraphQLNonNull) else graphql_type
    if isinstance(inner, GraphQLList):
        strategy = st.lists(values_for(inner.of_type, depth + 1), max_size=3)
    elif isinstance(inner, GraphQLEnumType):
        strategy = st.one_of(st.sampled_from(list(inner.values)), texts)
    elif isinstance(inner, GraphQLInputObjectType):
        fields = {name: values_for(field.type, depth + 1) for name, field in inner.fields.items()}
        strategy = st.fixed_dictionaries({}, optional=fields) if depth < 3 else st.just({})
    elif isinstance(inner, GraphQLScalarType):
        strategy = {
            "String": texts, "Int": numbers, "Boolean": st.booleans(), "ID": ids, "Decimal": decimals,
            "DateTime": datetimes, "Date": dates, "Time": st.one_of(st.times().map(lambda t: t.isoformat()), texts),
            "Float": st.floats(allow_nan=False), "JSON": st.just({}),
        }.get(inner.name, texts)  # fmt: skip
    else:
        strategy = texts
    strategy = st.one_of(strategy, wrong_type) if depth == 0 and wrong_types else strategy
    return st.one_of(st.none(), strategy) if nullable else strategy


def document(name: str) -> str:
    field = GRAPHQL_SCHEMA.mutation_type.fields[name]
    params = ", ".join(f"${arg}: {field.args[arg].type}" for arg in field.args)
    call_args = ", ".join(f"{arg}: ${arg}" for arg in field.args)
    header = f"mutation Fuzz({params})" if params else "mutation Fuzz"
    call = f"{name}({call_args})" if call_args else name
    return f"{header} {{ result: {call} {{ __typename ... on OperationInfo {{ messages {{ code field message }} }} }} }}"


def row_counts(schema_name: str) -> dict[str, int]:
    """Every table of a schema, counted in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_type = 'BASE TABLE'",
            [schema_name],
        )
        tables = [row[0] for row in cursor.fetchall()]
        union = " UNION ALL ".join(
            f'SELECT \'{t}\', count(*) FROM "{schema_name}"."{t}"' for t in tables
        )
        cursor.execute(union)
        return dict(cursor.fetchall())


@pytest.fixture
def fuzz_env(clinic1, clinic2, make_staff, token_for):
    from backend.accounts.models import Role
    from tests.accounts.test_role_matrix import build_world

    admin = make_staff(clinic1, Role.ADMIN)
    build_world(clinic1, admin, make_staff)
    build_world(clinic2, make_staff(clinic2, Role.ADMIN), make_staff)  # IDs of another clinic
    return {"token": token_for(clinic1, admin), "clinic": clinic1}


def has_no_operation_field(name: str) -> bool:
    field = GRAPHQL_SCHEMA.mutation_type.fields[name]
    return not hasattr(field.type, "types") and "Payload" not in str(field.type)


@pytest.mark.parametrize("name", [m for m in MUTATIONS if m not in {"login"}])
@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "12")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_mutation_survives_generated_input(client, fuzz_env, name, data):
    field = GRAPHQL_SCHEMA.mutation_type.fields[name]
    variables = {arg: data.draw(values_for(field.args[arg].type), label=arg) for arg in field.args}
    query = document(name)
    if has_no_operation_field(name):
        query = query.replace(" ... on OperationInfo { messages { code field message } }", "")
    with tenant_context(fuzz_env["clinic"]):
        before = row_counts(fuzz_env["clinic"].schema_name), row_counts("public")
    connection.set_schema_to_public()
    body = json.dumps({"query": query, "variables": variables})
    response = client.generic(
        "POST", "/graphql", body, content_type="application/json",
        HTTP_HOST="clinica1.localhost", HTTP_AUTHORIZATION=f"Bearer {fuzz_env['token']}",
    )  # fmt: skip
    assert response.status_code < 500, response.content[:500]
    payload = response.json()
    errors = payload.get("errors") or []
    result = (payload.get("data") or {}).get("result")
    for error in errors:
        assert error.get("extensions", {}).get("code"), error
        assert error["extensions"]["code"] != "INTERNAL_ERROR", error
    refused = bool(errors) or (
        isinstance(result, dict) and result.get("__typename") == "OperationInfo"
    )
    if isinstance(result, dict) and result.get("__typename") == "OperationInfo":
        assert all(message["code"] for message in result["messages"]), result
    if refused:
        with tenant_context(fuzz_env["clinic"]):
            after = row_counts(fuzz_env["clinic"].schema_name), row_counts("public")
        before_no_auth = {
            k: v
            for k, v in before[0].items()
            if k not in {"audit_auditevent", "accounts_loginfailure"}
        }
        after_no_auth = {
            k: v
            for k, v in after[0].items()
            if k not in {"audit_auditevent", "accounts_loginfailure"}
        }
        assert after_no_auth == before_no_auth, name
        assert after[0].get("audit_auditevent") == before[0].get("audit_auditevent"), name
        assert after[1] == before[1], name


PLATFORM_MUTATIONS = [
    "createClinic",
    "changeClinicPlan",
    "suspendClinic",
    "reactivateClinic",
    "addClinicDomain",
    "backupClinic",
    "restoreClinic",
]


@pytest.mark.parametrize("name", PLATFORM_MUTATIONS)
@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "12")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_platform_mutation_survives_generated_input(client, platform_token, name, data):
    field = GRAPHQL_SCHEMA.mutation_type.fields[name]
    variables = {arg: data.draw(values_for(field.args[arg].type), label=arg) for arg in field.args}
    before = row_counts("public")
    response = client.generic(
        "POST", "/graphql", json.dumps({"query": document(name), "variables": variables}),
        content_type="application/json", HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {platform_token}",
    )  # fmt: skip
    assert response.status_code < 500, response.content[:500]
    payload = response.json()
    for error in payload.get("errors") or []:
        assert error.get("extensions", {}).get("code") not in (None, "INTERNAL_ERROR"), error
    result = (payload.get("data") or {}).get("result")
    if payload.get("errors") or (
        isinstance(result, dict) and result.get("__typename") == "OperationInfo"
    ):
        assert row_counts("public") == before

"""Every query, driven with generated arguments (hypothesis): random and huge strings,
Unicode, odd numbers, wrong types, missing arguments, and IDs of another clinic. Never a 5xx,
never INTERNAL_ERROR, and every refusal carries a code."""

from __future__ import annotations

import json
import os

import pytest
from graphql import GraphQLObjectType, GraphQLUnionType, get_named_type
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_fuzz_mutations import GRAPHQL_SCHEMA, values_for

pytestmark = pytest.mark.django_db

PLATFORM_QUERIES = {"plans", "clinics", "clinicBackups"}
QUERIES = sorted(
    name
    for name, field in GRAPHQL_SCHEMA.query_type.fields.items()
    if field.args and not name.startswith("_") and name != "node"
)


def document(name: str) -> str:
    field = GRAPHQL_SCHEMA.query_type.fields[name]
    params = ", ".join(f"${arg}: {field.args[arg].type}" for arg in field.args)
    call_args = ", ".join(f"{arg}: ${arg}" for arg in field.args)
    named = get_named_type(field.type)
    selection = (
        " { __typename }" if isinstance(named, (GraphQLObjectType, GraphQLUnionType)) else ""
    )
    return f"query Fuzz({params}) {{ result: {name}({call_args}){selection} }}"


@pytest.fixture
def fuzz_tokens(clinic1, clinic2, make_staff, token_for, platform_token):
    from backend.accounts.models import Role
    from tests.accounts.test_role_matrix import build_world

    admin = make_staff(clinic1, Role.ADMIN)
    build_world(clinic1, admin, make_staff)
    build_world(clinic2, make_staff(clinic2, Role.ADMIN), make_staff)  # IDs of another clinic
    return {"clinic": token_for(clinic1, admin), "platform": platform_token}


def test_the_fuzzed_queries_are_every_query_with_arguments():
    assert len(QUERIES) >= 20
    assert {"appointments", "patients", "availability", "clinicBackups"} <= set(QUERIES)


@pytest.mark.parametrize("name", QUERIES)
@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "12")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_query_survives_generated_arguments(client, fuzz_tokens, name, data):
    field = GRAPHQL_SCHEMA.query_type.fields[name]
    # Half the examples are well typed, so that they get past validation to the resolvers.
    wrong_types = data.draw(st.booleans(), label="wrong types")
    variables = {
        arg: data.draw(values_for(field.args[arg].type, wrong_types=wrong_types), label=arg)
        for arg in field.args
    }
    platform = name in PLATFORM_QUERIES
    response = client.generic(
        "POST", "/graphql", json.dumps({"query": document(name), "variables": variables}),
        content_type="application/json",
        HTTP_HOST="localhost" if platform else "clinica1.localhost",
        HTTP_AUTHORIZATION=f"Bearer {fuzz_tokens['platform' if platform else 'clinic']}",
    )  # fmt: skip
    assert response.status_code < 500, response.content[:500]
    payload = response.json()
    for error in payload.get("errors") or []:
        code = error.get("extensions", {}).get("code")
        assert code, error
        assert code != "INTERNAL_ERROR", (name, variables, error)

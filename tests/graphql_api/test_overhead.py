"""The cheaper GraphQL path (issue 7, item 5) answers exactly what the full one did.

- Validation is skipped only for a text already found valid under the same limits: every
  refusal (depth, aliases, tokens, introspection) still happens on every request.
- Plain fields read the loaded value directly; with strawberry's own resolvers put back, every
  answer below is identical, and a column that was not loaded is still loaded.
- Permissions are untouched: a cached document is still checked for each user and clinic.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context
from graphql import GraphQLObjectType
from strawberry.relay import Node
from strawberry.types.base import StrawberryObjectDefinition

from backend.accounts.models import Role
from backend.resources.models import Chair
from graphql_api.core import document_cache
from graphql_api.schema import fast_fields, schema
from tests.conftest import error_code, graphql

pytestmark = pytest.mark.django_db

HOST = "clinica1.localhost"

AUDIT = "{ auditEvents(first: 1) { totalCount } }"


@pytest.fixture(autouse=True)
def _fresh_document_cache():
    document_cache.clear()
    yield
    document_cache.clear()


def test_a_column_that_was_not_loaded_is_still_loaded(clinic1):
    chair_type = schema._schema.type_map["Chair"]
    assert isinstance(chair_type, GraphQLObjectType)
    name_field = chair_type.fields["name"]
    assert any(entry.field is name_field for entry in fast_fields)
    with tenant_context(clinic1):
        Chair.objects.create(name="Sillón 9")
        chair = Chair.objects.only("id").get(name="Sillón 9")
        with CaptureQueriesContext(connection) as queries:
            assert name_field.resolve(chair, None) == "Sillón 9"
        assert len(queries) == 1


def test_no_field_with_a_permission_or_arguments_gets_the_cheaper_resolver():
    for entry in fast_fields:
        graphql_type = schema.get_type_by_name(entry.type_name)
        assert isinstance(graphql_type, StrawberryObjectDefinition)
        field = next(
            f for f in graphql_type.fields if schema.config.name_converter.get_graphql_name(f)
            == entry.field_name
        )  # fmt: skip
        assert not field.extensions, entry
        assert not entry.field.args, entry
    assert {"Appointment", "Patient", "Professional", "Chair"} <= {e.type_name for e in fast_fields}


def test_every_node_type_knows_its_id_attribute():
    for graphql_type in schema._schema.type_map.values():
        definition = (getattr(graphql_type, "extensions", None) or {}).get("strawberry-definition")
        origin = getattr(definition, "origin", None)
        if isinstance(origin, type) and issubclass(origin, Node) and origin is not Node:
            assert origin._id_attr == "pk", origin


def test_too_many_aliases_are_refused_every_time(client, clinic1, admin_token, settings):
    settings.GRAPHQL_MAX_ALIASES = 2
    query = "{ a: currentClinic { name } b: currentClinic { name } c: currentClinic { name } }"
    for _ in range(2):
        status, body = graphql(client, query, host=HOST, token=admin_token)
        assert status == 400
        assert error_code(body) == "GRAPHQL_VALIDATION_FAILED"


def test_too_many_tokens_are_refused_every_time(client, clinic1, settings):
    query = "{ currentClinic { name } }"
    assert graphql(client, query, host=HOST)[0] == 200
    settings.GRAPHQL_MAX_TOKENS = 4
    for _ in range(2):
        status, body = graphql(client, query, host=HOST)
        assert status == 400
        assert "token" in body["errors"][0]["message"].lower()


def test_introspection_turned_off_is_refused_even_after_it_was_allowed(client, clinic1, settings):
    query = "{ __schema { queryType { name } } }"
    settings.GRAPHQL_INTROSPECTION = True
    assert graphql(client, query, host=HOST)[1] == {
        "data": {"__schema": {"queryType": {"name": "Query"}}}
    }
    settings.GRAPHQL_INTROSPECTION = False
    for _ in range(2):
        status, body = graphql(client, query, host=HOST)
        assert status == 400
        assert "introspection" in body["errors"][0]["message"].lower()


def test_a_document_validated_for_one_user_is_still_checked_for_the_next(
    client, clinic1, clinic2, admin_token, make_staff, token_for
):
    assert "errors" not in graphql(client, AUDIT, host=HOST, token=admin_token)[1]
    receptionist = token_for(clinic1, make_staff(clinic1, Role.RECEPTIONIST))
    assert error_code(graphql(client, AUDIT, host=HOST, token=receptionist)[1]) == "FORBIDDEN"
    assert error_code(graphql(client, AUDIT, host=HOST)[1]) == "UNAUTHENTICATED"
    other_clinic_admin = token_for(clinic2, make_staff(clinic2, Role.ADMIN))
    refused = graphql(client, AUDIT, host=HOST, token=other_clinic_admin)[1]
    assert error_code(refused) == "UNAUTHENTICATED"
    status, body = graphql(client, AUDIT, host="clinica2.localhost", token=other_clinic_admin)
    assert status == 200
    assert "errors" not in body

"""Making the role matrix's calls and checking an allowed one against the specification:
shared by `tests/accounts/test_role_matrix.py` and `tests/audit/test_audit_completeness.py`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django_tenants.utils import tenant_context

from graphql_api.schema import schema
from tests.accounts.matrix_world import OUTCOME, UPLOADS, WORLD_ELSEWHERE, call_document, fill
from tests.conftest import TEST_PASSWORD, error_code, graphql
from tests.files.multipart import upload_graphql
from tests.spec.answers import ANSWERS
from tests.spec.effects import EFFECTS
from tests.spec.permissions import Access
from tests.spec.run import Run

CLINIC_HOST = "clinica1.localhost"
PLATFORM_HOST = "localhost"
EXPECTED = {**ANSWERS, **EFFECTS}
# An allowed login signs in as the caller; CALLS["login"] (a wrong password) serves refusals.
SIGN_IN = (
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) {"
    " __typename ... on OperationInfo { ...Outcome } } }\n" + OUTCOME,
    {"e": "{caller_email}", "p": "{caller_password}"},
)


def schema_operations(kind: str) -> list[str]:
    """The schema's operations of one kind ("query" or "mutation"), as the tables name them."""
    graphql_schema = schema._schema
    root = graphql_schema.query_type if kind == "query" else graphql_schema.mutation_type
    assert root is not None
    return [f"{kind} {name}" for name in root.fields]


def request(
    client: Any, access: Access, host: str, token: str | None, world: dict[str, str] | None = None
) -> dict[str, Any]:
    """Make the operation's call; the answer must be a GraphQL answer (200)."""
    world = world or WORLD_ELSEWHERE
    if access.operation == "mutation login" and "caller_email" in world:
        query, variables = SIGN_IN
    else:
        query, variables = call_document(access.field)
    if access.field in UPLOADS:
        status, body = upload_graphql(
            client, query, host=host, token=token, variables=fill(variables, world),
            files=UPLOADS[access.field],
        )  # fmt: skip
    else:
        status, body = graphql(
            client, query, host=host, token=token, variables=fill(variables, world)
        )
    assert status == 200, body
    return body


def performs(
    client: Any,
    access: Access,
    run: Run,
    host: str,
    token: str | None,
    arranged: Callable[[], None] | None = None,
) -> None:
    """An allowed call: arranged, made, successful, and doing what the specification says.
    ``arranged`` is called once the world is arranged, right before the call."""
    expected = EXPECTED[access.operation]
    run.ids = {**run.ids, "caller_email": run.caller.email, "caller_password": TEST_PASSWORD}
    if expected.arrange:
        with tenant_context(run.tenant):
            expected.arrange(run)
    if arranged:
        arranged()
    body = request(client, access, host, token, run.ids)
    assert "errors" not in body, body
    run.data = body["data"][access.field]
    if isinstance(run.data, dict) and "__typename" in run.data:
        assert run.data["__typename"] != "OperationInfo", body
    with tenant_context(run.tenant):
        expected.check(run)


def refused(body: dict[str, Any], code: str) -> None:
    """A refusal: the code, and no answer (``data`` is null, or the nullable field is)."""
    assert error_code(body) == code, body
    assert not any((body["data"] or {}).values()), body

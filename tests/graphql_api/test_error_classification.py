"""What a client gets for each kind of GraphQL error: a code always, and the message of a
server bug only with DEBUG on (the log keeps the full error, see tests/test_error_logging.py).

The server bugs come from a test-only schema (``broken_schema``), served by the project's
view with the project's error handling; the real trigger of an output bug (a backup of 2 GiB
or more) goes through the real schema."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from graphql import GraphQLError, located_error
from strawberry.relay.types import GlobalIDValueError

from backend.core import transactions
from graphql_api.core.errors import Classification, classify, publish
from tenants_core.models import ClinicBackup
from tests.conftest import database_error, graphql
from tests.graphql_api.broken_schema import CRASHING_URL, TOO_BIG_FOR_INT, URL

pytestmark = pytest.mark.django_db

HOST = "clinica1.localhost"
THREE_GIB = 3 * 2**30


def _broken(
    query: str, variables: dict | None = None, request_id: str = "req-broken-1", url: str = URL
) -> tuple[int, dict]:
    response = Client().post(
        url, data={"query": query, "variables": variables or {}},
        content_type="application/json", HTTP_HOST=HOST, HTTP_X_REQUEST_ID=request_id,
    )  # fmt: skip
    return response.status_code, response.json()


def test_a_backup_of_three_gib_is_listed_with_its_exact_size_and_rows(
    client, clinic2, platform_token
):
    ClinicBackup.objects.create(
        id=uuid.uuid4(), clinic=clinic2, subdomain="clinica2", schema_name=clinic2.schema_name,
        file_name="clinica2/huge.tar.gz.enc", size_bytes=THREE_GIB, sha256="0" * 64,
        key_id="k1", tables=40, rows=2**40, migrations_fingerprint="f", created_by="root",
    )  # fmt: skip
    status, body = graphql(
        client, "query($s: String!) { clinicBackups(subdomain: $s) { sizeBytes rows } }",
        host="localhost", token=platform_token, variables={"s": "clinica2"},
    )  # fmt: skip

    assert status == 200
    assert "errors" not in body, body
    assert body["data"]["clinicBackups"] == [{"sizeBytes": THREE_GIB, "rows": 2**40}]


@pytest.mark.urls("tests.graphql_api.broken_schema")
def test_a_server_bug_in_output_coercion_is_an_internal_error_with_its_message_hidden(settings):
    settings.DEBUG = False
    status, body = _broken("{ fine tooBig }")

    assert status == 200  # the rest of the operation still answers
    assert body["data"] == {"fine": "fine", "tooBig": None}
    (error,) = body["errors"]
    assert error["path"] == ["tooBig"]
    assert error["extensions"] == {"code": "INTERNAL_ERROR", "requestId": "req-broken-1"}
    assert error["message"] == "Internal error. Quote the request id to support."


@pytest.mark.urls("tests.graphql_api.broken_schema")
def test_with_debug_on_a_server_bug_keeps_its_message_and_still_has_a_code(settings):
    settings.DEBUG = True
    _, body = _broken("{ tooBig }")

    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INTERNAL_ERROR"
    assert str(TOO_BIG_FOR_INT) in error["message"]


@pytest.mark.urls("tests.graphql_api.broken_schema")
def test_permission_denied_from_a_resolver_is_forbidden(settings):
    settings.DEBUG = False
    status, body = _broken("{ denied }")

    assert status == 200
    (error,) = body["errors"]
    assert error["path"] == ["denied"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "internal detail" not in error["message"]


@pytest.mark.urls("tests.graphql_api.broken_schema")
def test_a_server_bug_before_the_operation_runs_is_a_500_internal_error_not_a_bad_document(
    settings,
):
    settings.DEBUG = False
    status, body = _broken("{ fine }", url=CRASHING_URL)

    assert status == 500
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "INTERNAL_ERROR", "requestId": "req-broken-1"}
    assert error["message"] == "Internal error. Quote the request id to support."


@pytest.mark.urls("tests.graphql_api.broken_schema")
def test_a_document_refused_before_it_runs_is_still_a_400_with_a_code():
    for query in ("{ fine", "{ nope }", "query($v: BigInt!) { echo(value: $v) }"):
        status, body = _broken(query)
        assert status == 400, (query, body)
        assert {e["extensions"]["code"] for e in body["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}


# --- classify: the one decision, for the client and for the log -----------------------------


def _at(error: Exception, path: list | None = None) -> GraphQLError:
    """``error`` as graphql-core reports it from a resolver at ``path``."""
    return located_error(error, None, path or ["field"])


CASES = {
    # name: (error factory, code, expected)
    "bare error with a path": (lambda: GraphQLError("boom", path=["a"]), "INTERNAL_ERROR", False),
    "coded error with a path": (
        lambda: GraphQLError("no", path=["a"], extensions={"code": "FORBIDDEN"}), "FORBIDDEN", True,
    ),
    "coded refusal raised by a resolver": (
        lambda: _at(GraphQLError("who?", extensions={"code": "UNAUTHENTICATED"})),
        "UNAUTHENTICATED", True,
    ),
    "output coercion": (
        lambda: _at(GraphQLError("Int cannot represent 2**40")), "INTERNAL_ERROR", False,
    ),
    "document refused": (lambda: GraphQLError("Syntax Error"), "GRAPHQL_VALIDATION_FAILED", True),
    "validation error with a code": (
        lambda: _at(ValidationError("gone", code="NOT_FOUND")), "NOT_FOUND", True,
    ),
    "validation error without a code": (lambda: _at(ValidationError("bad")), "INVALID", True),
    "global id": (lambda: _at(GlobalIDValueError("bad id")), "INVALID_ID", True),
    "permission denied": (lambda: _at(PermissionDenied("detail")), "FORBIDDEN", True),
    "resolver bug": (lambda: _at(RuntimeError("bug")), "INTERNAL_ERROR", False),
    "hook bug, no path": (
        lambda: GraphQLError("bug", original_error=RuntimeError("bug")), "INTERNAL_ERROR", False,
    ),
    "deadlock": (lambda: _at(database_error(transactions.DEADLOCK)), "CONCURRENT_UPDATE", True),
    "serialization failure": (
        lambda: _at(database_error(transactions.SERIALIZATION_FAILURE)), "CONCURRENT_UPDATE", True,
    ),
    "database shutting down": (
        lambda: _at(database_error("57P01")), "DATABASE_UNAVAILABLE", False,
    ),
}  # fmt: skip


@pytest.mark.parametrize(("make", "code", "expected"), CASES.values(), ids=CASES.keys())
def test_classify_gives_each_error_one_code_and_says_whether_it_is_expected(
    settings, make, code, expected
):
    settings.DEBUG = False
    error = make()
    assert classify(error) == Classification(code=code, expected=expected)

    publish(error, classify(error), "req-1")
    assert error.extensions["code"] == code
    assert ("requestId" in error.extensions) == (not expected or code == "CONCURRENT_UPDATE")
    # Rewritten for the client, the error still classifies the same (the log and the client
    # can never disagree, whichever looks first).
    assert classify(error) == Classification(code=code, expected=expected)


# --- BigInt ---------------------------------------------------------------------------------

BIG_INT_MAX = 2**63 - 1


@pytest.mark.urls("tests.graphql_api.broken_schema")
@pytest.mark.parametrize("value", [0, -1, 2**31, THREE_GIB, 2**53 + 1, BIG_INT_MAX, -(2**63)])
def test_a_big_int_goes_both_ways_as_an_exact_json_number(value):
    status, body = _broken("query($v: BigInt!) { echo(value: $v) }", {"v": value})
    assert (status, body) == (200, {"data": {"echo": value}})

    status, body = _broken(f"{{ echo(value: {value}) }}")
    assert (status, body) == (200, {"data": {"echo": value}})


@pytest.mark.urls("tests.graphql_api.broken_schema")
@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 1.5, 3.0, "12", True, None])
def test_a_big_int_variable_out_of_range_or_not_whole_is_refused_with_a_code(value):
    status, body = _broken("query($v: BigInt!) { echo(value: $v) }", {"v": value})
    assert status == 400, body
    assert "data" not in body or body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]


@pytest.mark.urls("tests.graphql_api.broken_schema")
@pytest.mark.parametrize("literal", [str(2**63), str(-(2**63) - 1), "1.5", '"12"', "true"])
def test_a_big_int_literal_out_of_range_or_not_whole_is_refused_with_a_code(literal):
    status, body = _broken(f"{{ echo(value: {literal}) }}")
    assert status == 400, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]


@pytest.mark.urls("tests.graphql_api.broken_schema")
def test_a_value_no_bigint_holds_is_an_internal_error(settings):
    settings.DEBUG = False
    status, body = _broken("{ tooBigForBigInt }")

    assert status == 200
    assert body["data"] == {"tooBigForBigInt": None}
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "INTERNAL_ERROR", "requestId": "req-broken-1"}
    assert str(2**63) not in error["message"]

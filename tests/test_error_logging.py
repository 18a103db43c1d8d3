"""The log: an expected refusal is one line (its code, the request id, the path), an
unexpected error is one full traceback."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from backend.accounts.models import Role
from backend.patients import selectors as patient_selectors
from tests.graphql_api.broken_schema import TOO_BIG_FOR_INT, URL
from tests.ids import global_id

HOST = "clinica1.localhost"
GRAPHQL_LOGGERS = ("graphql_api.errors", "strawberry.execution")

REFUSALS = [
    # (query, role sending it or None for no token, code, path)
    ("{ me { email } }", None, "UNAUTHENTICATED", "me"),
    ("{ auditEvents(first: 1) { totalCount } }", Role.RECEPTIONIST, "FORBIDDEN", "auditEvents"),
    (f'{{ patient(id: "{global_id("Patient", 999999, None)}") {{ id }} }}', Role.ADMIN, "NOT_FOUND", "patient"),  # no clinic part: as an unknown row
    ("{ patients(first: 100000) { totalCount } }", Role.ADMIN, "INVALID_PAGINATION", "patients"),
    ('{ patient(id: "no-es-un-id") { id } }', Role.ADMIN, "INVALID_ID", "patient"),
    ("{ nope }", Role.ADMIN, "GRAPHQL_VALIDATION_FAILED", None),
    # A literal the Date scalar refuses: graphql-core keeps the scalar's ValueError.
    ('{ cashReport(from: "ayer", to: "2030-01-01") { __typename } }', Role.ADMIN, "GRAPHQL_VALIDATION_FAILED", None),
]  # fmt: skip


def _graphql_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name in GRAPHQL_LOGGERS]


@pytest.mark.parametrize(("query", "role", "code", "path"), REFUSALS)
def test_an_expected_refusal_logs_one_line_with_its_code_request_id_and_path(
    client, clinic1, make_staff, token_for, caplog, query, role, code, path
):
    headers = {"HTTP_HOST": HOST, "HTTP_X_REQUEST_ID": "req-refusal-1"}
    if role is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token_for(clinic1, make_staff(clinic1, role))}"
    caplog.set_level(logging.INFO)
    response = client.post(
        "/graphql", data={"query": query}, content_type="application/json", **headers
    )
    assert response.json()["errors"][0]["extensions"]["code"] == code

    records = _graphql_records(caplog)
    assert len(records) == 1, [r.getMessage() for r in records]
    line = records[0].getMessage()
    assert code in line
    assert "req-refusal-1" in line
    if path:
        assert f" at {path}" in line
    assert records[0].exc_info is None
    assert records[0].levelno == logging.INFO
    assert "Traceback" not in caplog.text


def test_an_unexpected_error_logs_one_full_traceback(
    client, clinic1, admin_token, monkeypatch, caplog
):
    def explode(**kwargs):
        raise RuntimeError("the selector broke")

    monkeypatch.setattr(patient_selectors, "patient_list", explode)
    response = client.post(
        "/graphql", data={"query": "{ patients(first: 1) { totalCount } }"},
        content_type="application/json", HTTP_HOST=HOST,
        HTTP_AUTHORIZATION=f"Bearer {admin_token}", HTTP_X_REQUEST_ID="req-unexpected-1",
    )  # fmt: skip
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_ERROR"

    records = _graphql_records(caplog)
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].levelno == logging.ERROR
    assert "req-unexpected-1" in records[0].getMessage()
    assert records[0].exc_info is not None
    assert isinstance(records[0].exc_info[1], RuntimeError)
    assert caplog.text.count("Traceback") == 1
    assert "the selector broke" in caplog.text


def _broken(query: str, request_id: str) -> dict:
    response = Client().post(
        URL, data={"query": query}, content_type="application/json",
        HTTP_HOST=HOST, HTTP_X_REQUEST_ID=request_id,
    )  # fmt: skip
    return response.json()


@pytest.mark.urls("tests.graphql_api.broken_schema")
def test_a_value_its_field_type_cannot_hold_is_logged_as_a_bug_with_its_traceback(db, caplog):
    """Output coercion fails after the resolver returned: a GraphQLError with a path and no
    code, which is a bug of ours, not the client's BAD_REQUEST."""
    body = _broken("{ tooBig }", "req-coercion-1")
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_ERROR"

    records = _graphql_records(caplog)
    assert len(records) == 1, [r.getMessage() for r in records]
    (record,) = records
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith(
        "GraphQL INTERNAL_ERROR [request req-coercion-1] at tooBig"
    )
    assert str(TOO_BIG_FOR_INT) in record.getMessage()  # the log keeps what the client cannot see
    assert record.exc_info is not None
    assert caplog.text.count("Traceback") == 1
    assert "BAD_REQUEST" not in caplog.text


@pytest.mark.urls("tests.graphql_api.broken_schema")
def test_permission_denied_is_logged_as_forbidden_in_one_line(db, caplog):
    caplog.set_level(logging.INFO)
    body = _broken("{ denied }", "req-denied-1")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    records = _graphql_records(caplog)
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.INFO, "GraphQL FORBIDDEN [request req-denied-1] at denied")
    ]
    assert records[0].exc_info is None

"""Every log line says which request and which clinic it is about, whatever the logger: the
id the client got in ``X-Request-ID`` and the clinic's subdomain (``-`` outside a request and
on the platform's domain), as text or as JSON (``LOG_FORMAT``), and never a secret."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import re
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from backend.core.log_context import JsonFormatter, TextFormatter
from backend.patients import selectors as patient_selectors
from tests.conftest import TEST_PASSWORD, running_uvicorn

CLINIC_HOST = "clinica1.localhost"
PLATFORM_HOST = "localhost"
INVALID = {"query": "{ nope }"}  # 400 GRAPHQL_VALIDATION_FAILED: a line of graphql_api.errors
TEXT_LINE = re.compile(
    r"^(?P<time>\S+) (?P<level>[A-Z]+) (?P<logger>\S+) "
    r"request=(?P<request_id>\S+) clinic=(?P<clinic>\S+) "
    r"user=(?P<user>\S+) operation=(?P<operation>\S+) (?P<message>.*)$"
)


def _console() -> logging.Handler:
    """The handler that the settings' ``LOGGING`` gives the root logger."""
    formats = (TextFormatter, JsonFormatter)
    return next(h for h in logging.getLogger().handlers if isinstance(h.formatter, formats))


@contextlib.contextmanager
def _log_lines(formatter: logging.Formatter) -> Iterator[Callable[[], list[str]]]:
    """What the console handler writes meanwhile, in ``formatter``'s format."""
    handler = _console()
    assert isinstance(handler, logging.StreamHandler)
    stream, previous = io.StringIO(), handler.formatter
    old_stream = handler.setStream(stream)
    handler.setFormatter(formatter)
    try:
        yield lambda: stream.getvalue().splitlines()
    finally:
        handler.setStream(old_stream)
        handler.setFormatter(previous)


def _text(lines: list[str]) -> list[dict[str, str]]:
    """The first line of each text record, parsed (tracebacks follow on lines of their own)."""
    return [match.groupdict() for line in lines if (match := TEXT_LINE.match(line))]


def _post(host: str, request_id: str, body: dict[str, Any], **headers: str) -> Any:
    return Client().post(
        "/graphql", data=body, content_type="application/json",
        HTTP_HOST=host, HTTP_X_REQUEST_ID=request_id, **headers,
    )  # fmt: skip


def _utc(time: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(time)
    assert moment.utcoffset() == dt.timedelta(0), time
    return moment


def test_every_text_line_of_a_request_carries_its_id_and_clinic(clinic1):
    with _log_lines(TextFormatter()) as lines:
        response = _post(CLINIC_HOST, "req-text-line-1", INVALID)
        logging.getLogger("tests.after").warning("after the request")
    assert response.status_code == 400
    records = _text(lines())
    by_logger = {record["logger"]: record for record in records}
    # graphql_api.errors writes the id in its message; Django's own line for the 400 does not.
    for logger in ("graphql_api.errors", "django.request"):
        assert by_logger[logger]["request_id"] == "req-text-line-1", records
        assert by_logger[logger]["clinic"] == "clinica1", records
    assert by_logger["django.request"]["level"] == "WARNING"
    assert by_logger["django.request"]["message"] == "Bad Request: /graphql"
    _utc(by_logger["django.request"]["time"])
    # Nothing of the request stays on the thread once it is answered.
    assert (by_logger["tests.after"]["request_id"], by_logger["tests.after"]["clinic"]) == (
        "-",
        "-",
    )


def test_a_generated_id_is_the_one_in_the_header_and_the_log(clinic1):
    with _log_lines(TextFormatter()) as lines:
        response = _post(CLINIC_HOST, "no", INVALID)  # too short: replaced, as before
    request_id = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert {r["request_id"] for r in _text(lines()) if r["logger"] == "django.request"} == {
        request_id
    }


def test_a_line_on_the_platforms_domain_has_a_request_id_and_no_clinic(db):
    with _log_lines(TextFormatter()) as lines:
        response = _post(PLATFORM_HOST, "req-platform-1", INVALID)
    assert response.status_code == 400
    records = [r for r in _text(lines()) if r["logger"] == "django.request"]
    assert [(r["request_id"], r["clinic"]) for r in records] == [("req-platform-1", "-")]


def test_json_lines_parse_with_every_field_and_the_exception(clinic1, admin_token, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("the selector broke")

    monkeypatch.setattr(patient_selectors, "patient_list", explode)
    with _log_lines(JsonFormatter()) as lines:
        _post(
            CLINIC_HOST, "req-json-1", {"query": "{ patients(first: 1) { totalCount } }"},
            HTTP_AUTHORIZATION=f"Bearer {admin_token}",
        )  # fmt: skip
        logging.getLogger("tests.after").info("after the request")
    records = [json.loads(line) for line in lines()]  # every line is one JSON object
    (error,) = [r for r in records if r["logger"] == "graphql_api.errors"]
    assert set(error) == {
        "time", "level", "logger", "message", "request_id", "clinic", "user", "operation",
        "exception",
    }  # fmt: skip
    assert (error["level"], error["request_id"], error["clinic"]) == (
        "ERROR",
        "req-json-1",
        "clinica1",
    )
    assert error["message"].startswith("GraphQL INTERNAL_ERROR [request req-json-1]")
    assert error["exception"].startswith("Traceback")
    assert "RuntimeError: the selector broke" in error["exception"]
    _utc(error["time"])
    after = records[-1]
    assert (after["logger"], after["request_id"], after["clinic"]) == ("tests.after", "-", "-")
    assert "exception" not in after


@pytest.mark.parametrize("formatter", [TextFormatter, JsonFormatter])
def test_no_token_or_password_reaches_a_log_line(clinic1, admin_token, formatter):
    """A refused login and a refused query with a real token, each logging its line (Django's
    400 line carries the request itself as an extra attribute): neither secret is written."""
    login = (
        f'mutation {{ login(email: "admin@clinica1.pe", password: "{TEST_PASSWORD}")'
        " { __typename } nope }"
    )
    with _log_lines(formatter()) as lines:
        for body in ({"query": login}, INVALID):
            response = _post(
                CLINIC_HOST, "req-secret-1", body, HTTP_AUTHORIZATION=f"Bearer {admin_token}"
            )
            assert response.status_code == 400
    output = "\n".join(lines())
    assert "req-secret-1" in output
    assert admin_token not in output
    assert TEST_PASSWORD not in output


@pytest.mark.slow
def test_under_uvicorn_the_views_thread_and_djangos_line_carry_the_request(django_db_blocker):
    """The sync view runs in a worker thread: the id and the clinic reach it, and come back
    for Django's own line about the 400, written after the view returned, and for uvicorn's
    access line."""
    with (
        tempfile.TemporaryFile("w+") as output,
        running_uvicorn(
            django_db_blocker, env={"LOG_FORMAT": "json"}, output=output, log_level="info"
        ) as server,
    ):
        response = server.post(CLINIC_HOST, INVALID, headers={"X-Request-ID": "req-uvicorn-1"})
        assert response.status_code == 400
        assert response.headers["X-Request-ID"] == "req-uvicorn-1"
        output.seek(0)
        # Every line the server wrote, uvicorn's and Django's included, is one JSON object.
        records = [json.loads(line) for line in output if line.strip()]
    mine = {r["logger"]: r for r in records if r["request_id"] == "req-uvicorn-1"}
    assert mine.keys() >= {"graphql_api.errors", "django.request", "uvicorn.access"}, records
    assert mine["django.request"]["clinic"] == "clinica1"
    assert mine["graphql_api.errors"]["clinic"] == "clinica1"  # logged in the view's thread
    assert mine["django.request"]["message"] == "Bad Request: /graphql"
    assert mine["uvicorn.access"]["clinic"] == "clinica1"
    assert '"POST /graphql HTTP/1.1" 400' in mine["uvicorn.access"]["message"]


def test_every_line_after_the_token_is_read_carries_the_user_id_and_the_operation(
    clinic1, clinic1_admin, admin_token, monkeypatch
):
    """The user is the token's user id (never the email); the operation is the client's
    operation name, or an anonymous operation's first root field."""

    def explode(**kwargs):
        logging.getLogger("tests.inside").warning("inside the resolver")
        raise RuntimeError("the selector broke")

    monkeypatch.setattr(patient_selectors, "patient_list", explode)
    named = {"query": "query PatientsForTheLog { patients(first: 1) { totalCount } }"}
    anonymous = {"query": "{ patients(first: 1) { totalCount } }"}
    for formatter in (TextFormatter, JsonFormatter):
        with _log_lines(formatter()) as lines:
            for request_id, body in (("req-user-named", named), ("req-user-anon", anonymous)):
                _post(CLINIC_HOST, request_id, body, HTTP_AUTHORIZATION=f"Bearer {admin_token}")
        output = lines()
        records = _text(output) if formatter is TextFormatter else [json.loads(x) for x in output]
        mine = {
            (r["request_id"], r["logger"]): r
            for r in records
            if r["logger"] in {"tests.inside", "graphql_api.errors"}
        }
        for logger in ("tests.inside", "graphql_api.errors"):
            named_line = mine[("req-user-named", logger)]
            assert named_line["user"] == str(clinic1_admin.pk), named_line
            assert named_line["operation"] == "PatientsForTheLog", named_line
            assert mine[("req-user-anon", logger)]["operation"] == "patients"
            assert mine[("req-user-anon", logger)]["user"] == str(clinic1_admin.pk)
        assert clinic1_admin.email not in "\n".join(output)


def test_lines_without_a_token_or_outside_a_request_say_no_user_or_operation(clinic1):
    with _log_lines(JsonFormatter()) as lines:
        _post(CLINIC_HOST, "req-anon-1", {"query": "query Unknown { nope }"})
        logging.getLogger("tests.after").info("after the request")
    records = [json.loads(line) for line in lines()]
    (error,) = [r for r in records if r["logger"] == "graphql_api.errors"]
    # Refused before execution: "invalid", never the name the document claimed.
    assert (error["user"], error["operation"]) == ("-", "invalid")
    assert (records[-1]["user"], records[-1]["operation"]) == ("-", "-")


def test_an_operation_name_that_is_not_a_name_is_not_logged_as_is(clinic1):
    weird = "DROP TABLE patients; --"
    with _log_lines(JsonFormatter()) as lines:
        _post(CLINIC_HOST, "req-weird-1", {"query": "{ nope }", "operationName": weird})
    records = [json.loads(line) for line in lines()]
    mine = [r for r in records if r["request_id"] == "req-weird-1"]
    assert mine
    assert {r["operation"] for r in mine} <= {"invalid", "-"}
    assert all(weird not in r["operation"] for r in mine)

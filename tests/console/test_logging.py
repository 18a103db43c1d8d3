"""The console's log lines say which operator: the signed-in superuser's id (never their
email), ``-`` before they sign in."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from backend.core.log_context import JsonFormatter, TextFormatter
from tests.console.conftest import console_get, console_post
from tests.factories import TEST_PASSWORD
from tests.test_request_logging import _log_lines, _text

pytestmark = pytest.mark.django_db


def _lines_of(formatter, lines):
    return _text(lines) if formatter is TextFormatter else [json.loads(x) for x in lines]


@pytest.mark.parametrize("formatter", [TextFormatter, JsonFormatter])
def test_a_signed_in_operators_lines_carry_their_id(operator, platform_admin, formatter):
    with _log_lines(formatter()) as lines:
        # Plans are read-only: the add page is a 403, which Django logs (django.request).
        refused = console_get(operator, "tenants_core/plan/add/", HTTP_X_REQUEST_ID="req-op-1")
    assert refused.status_code == 403
    records = [r for r in _lines_of(formatter, lines()) if r["request_id"] == "req-op-1"]
    assert any(r["logger"] == "django.request" for r in records), records
    assert {r["user"] for r in records} == {str(platform_admin.pk)}
    assert platform_admin.email not in "\n".join(lines())


def test_lines_before_signing_in_say_no_user_and_signing_in_names_the_operator(
    client: Client, platform_admin, monkeypatch
):
    from backend.console import forms

    original = forms.audit_record

    def audit_and_log(**kwargs):
        logging.getLogger("tests.console").warning("signing in")
        return original(**kwargs)

    monkeypatch.setattr(forms, "audit_record", audit_and_log)
    with _log_lines(JsonFormatter()) as lines:
        anonymous = console_get(client, "tenants_core/plan/add/", HTTP_X_REQUEST_ID="req-anon-c")
        signed_in = console_post(
            client,
            "login/",
            {"username": platform_admin.email, "password": TEST_PASSWORD},
            HTTP_X_REQUEST_ID="req-login-c",
        )
        after = console_get(client, "tenants_core/plan/add/", HTTP_X_REQUEST_ID="req-after-c")
    assert (anonymous.status_code, signed_in.status_code, after.status_code) == (302, 302, 403)
    records = [json.loads(line) for line in lines()]
    users = {r["request_id"]: r["user"] for r in records if r["request_id"].endswith("-c")}
    assert users["req-login-c"] == "-"  # logged during the sign-in, before the session has it
    assert users["req-after-c"] == str(platform_admin.pk)
    assert "req-anon-c" not in users or users["req-anon-c"] == "-"

"""Who reaches the console, and where: the public host only, platform superusers only, through
the API's own login throttle, with CSRF; and no other path gains a session."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from backend.accounts.models import LoginFailure, Role, User
from backend.audit.models import AuditEvent
from backend.console.tasks import expired_sessions_clear
from tests.conftest import PLATFORM_ADMIN_EMAIL, error_code, graphql, host_for
from tests.console.conftest import PUBLIC, console_get, console_post
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = (
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) {"
    " __typename ... on OperationInfo { messages { code } } } }"
)


def _signed_in(client: Client) -> bool:
    return console_get(client, "").status_code == 200


def _login_errors(response) -> list[str]:
    return [str(e.code) for e in response.context["form"].non_field_errors().as_data()]


@pytest.mark.parametrize("path", ["", "login/", "tenants_core/clinic/", "no/such/page/"])
def test_a_clinic_host_answers_the_json_404_of_an_unknown_path(client, clinic1, path):
    unknown = client.get("/no-such-path", HTTP_HOST=host_for("clinica1"))

    response = client.get(f"/console/{path}", HTTP_HOST=host_for("clinica1"))

    assert response.status_code == 404
    assert response["Content-Type"] == unknown["Content-Type"] == "application/json"
    assert response.json() == unknown.json()
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert "sessionid" not in response.cookies
    assert "csrftoken" not in response.cookies


def test_a_clinic_admin_posting_credentials_on_a_clinic_host_gets_the_404(client, clinic1):
    data = {"username": "admin@clinica1.pe", "password": TEST_PASSWORD}

    response = client.post("/console/login/", data, HTTP_HOST=host_for("clinica1"))

    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert not Session.objects.exists()


def test_the_console_static_files_answer_on_the_public_host_only(client, clinic1):
    css = "/console/static/admin/css/base.css"
    assert client.get(css, **PUBLIC).status_code == 200
    assert client.get(css, HTTP_HOST=host_for("clinica1")).status_code == 404
    outside = client.get("/console/static/../../settings.py", **PUBLIC)
    assert outside.status_code == 400
    assert outside.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_anonymous_visitors_are_sent_to_the_login_page(client, public_tenant):
    response = console_get(client, "tenants_core/clinic/")

    assert response.status_code == 302
    assert response["Location"].startswith("/console/login/")
    page = console_get(client, "login/")
    assert page.status_code == 200
    assert b'name="csrfmiddlewaretoken"' in page.content


def test_the_platform_superuser_signs_in_and_the_sign_in_is_audited(client, platform_admin):
    response = console_post(
        client, "login/", {"username": PLATFORM_ADMIN_EMAIL.upper(), "password": TEST_PASSWORD}
    )

    assert response.status_code == 302
    assert _signed_in(client)
    session = client.cookies[settings.SESSION_COOKIE_NAME]
    assert session["path"] == "/console/"
    assert session["httponly"]
    event = AuditEvent.objects.get(action="auth.login", actor=platform_admin)
    assert event.changes == {"channel": "console"}
    assert event.ip == "127.0.0.1"


def test_a_clinic_admin_cannot_sign_in_on_the_public_host(client, public_tenant, clinic1):
    response = console_post(
        client, "login/", {"username": "admin@clinica1.pe", "password": TEST_PASSWORD}
    )

    assert response.status_code == 200
    assert _login_errors(response) == ["INVALID_CREDENTIALS"]
    assert not _signed_in(client)


@pytest.mark.parametrize("staff", [True, False])
def test_a_public_user_who_is_not_a_superuser_is_refused(client, public_tenant, staff):
    User.objects.create_user(
        email="ops@platform.pe", password=TEST_PASSWORD, is_staff=staff, role=Role.ADMIN
    )

    response = console_post(
        client, "login/", {"username": "ops@platform.pe", "password": TEST_PASSWORD}
    )

    assert response.status_code == 200
    assert _login_errors(response) == ["INVALID_CREDENTIALS"]
    assert not _signed_in(client)


def test_a_signed_in_non_superuser_session_opens_nothing(client, public_tenant):
    user = User.objects.create_user(email="ops@platform.pe", password=TEST_PASSWORD, is_staff=True)
    client.force_login(user)

    response = console_get(client, "tenants_core/clinic/")

    assert response.status_code == 302
    assert response["Location"].startswith("/console/login/")


def test_an_inactive_superuser_cannot_sign_in(client, platform_admin):
    User.objects.filter(pk=platform_admin.pk).update(is_active=False)

    response = console_post(
        client, "login/", {"username": platform_admin.email, "password": TEST_PASSWORD}
    )

    assert _login_errors(response) == ["INVALID_CREDENTIALS"]
    assert not _signed_in(client)


def test_sign_ins_are_throttled_after_the_api_limit_of_failures(client, platform_admin):
    for _ in range(settings.LOGIN_THROTTLE_MAX_FAILURES):
        wrong = console_post(client, "login/", {"username": platform_admin.email, "password": "x"})
        assert _login_errors(wrong) == ["INVALID_CREDENTIALS"]

    right = console_post(
        client, "login/", {"username": platform_admin.email, "password": TEST_PASSWORD}
    )

    assert _login_errors(right) == ["LOGIN_THROTTLED"]
    assert not _signed_in(client)
    assert AuditEvent.objects.filter(action="auth.login_throttled").count() == 1
    failures = LoginFailure.objects.filter(email=platform_admin.email, ip="127.0.0.1")
    assert failures.count() == settings.LOGIN_THROTTLE_MAX_FAILURES


def test_failures_through_the_api_throttle_the_console(client, platform_admin):
    for _ in range(settings.LOGIN_THROTTLE_MAX_FAILURES):
        _, body = graphql(
            client, LOGIN, host=settings.BASE_DOMAIN,
            variables={"e": platform_admin.email, "p": "wrong"},
        )  # fmt: skip
        assert body["data"]["login"]["messages"][0]["code"] == "INVALID_CREDENTIALS"

    right = console_post(
        client, "login/", {"username": platform_admin.email, "password": TEST_PASSWORD}
    )

    assert _login_errors(right) == ["LOGIN_THROTTLED"]
    assert not _signed_in(client)


def test_failures_in_the_console_throttle_the_api(client, platform_admin):
    for _ in range(settings.LOGIN_THROTTLE_MAX_FAILURES):
        console_post(client, "login/", {"username": platform_admin.email, "password": "x"})

    _, body = graphql(
        client, LOGIN, host=settings.BASE_DOMAIN,
        variables={"e": platform_admin.email, "p": TEST_PASSWORD},
    )  # fmt: skip

    assert body["data"]["login"]["messages"][0]["code"] == "LOGIN_THROTTLED"


def test_signing_in_needs_the_csrf_token(platform_admin):
    client = Client(enforce_csrf_checks=True)
    data = {"username": platform_admin.email, "password": TEST_PASSWORD}

    refused = console_post(client, "login/", data)

    assert refused.status_code == 403
    assert not Session.objects.exists()
    page = console_get(client, "login/")
    token = page.context["csrf_token"]
    accepted = console_post(client, "login/", {**data, "csrfmiddlewaretoken": str(token)})
    assert accepted.status_code == 302
    assert Session.objects.count() == 1


def test_a_console_session_signs_nobody_in_to_the_api(operator):
    status, body = graphql(operator, "{ plans { code } }", host=settings.BASE_DOMAIN)

    assert status == 200
    assert error_code(body) == "UNAUTHENTICATED"


def test_signing_out_ends_the_session(operator):
    response = console_post(operator, "logout/", {})

    assert response.status_code == 200
    assert not _signed_in(operator)
    assert not Session.objects.exists()


def test_expired_sessions_are_cleared_and_live_ones_kept(operator):
    live = Session.objects.get()
    Session.objects.create(
        session_key="x" * 32, session_data="", expire_date=live.expire_date - timedelta(days=2)
    )
    Session.objects.filter(pk="x" * 32).update(expire_date=timezone.now() - timedelta(seconds=1))

    assert expired_sessions_clear() == 1

    assert list(Session.objects.values_list("pk", flat=True)) == [live.pk]
    assert _signed_in(operator)


def test_an_operator_changing_their_password_is_audited(operator, platform_admin):
    response = console_post(
        operator,
        "password_change/",
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "Otra-clave-segura-2026",
            "new_password2": "Otra-clave-segura-2026",
        },
    )

    assert response.status_code == 302
    platform_admin.refresh_from_db()
    assert platform_admin.check_password("Otra-clave-segura-2026")
    (event,) = AuditEvent.objects.filter(action="auth.password_change", actor=platform_admin)
    assert event.changes == {"channel": "console", "tokens_revoked": 0}
    assert _signed_in(operator)  # the session follows the new password


def test_an_operator_changing_their_password_revokes_their_api_tokens(
    operator, platform_admin, platform_token
):
    status, body = graphql(
        operator, "{ plans { code } }", host=settings.BASE_DOMAIN, token=platform_token
    )
    assert status == 200
    assert error_code(body) is None, body

    response = console_post(
        operator,
        "password_change/",
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "Otra-clave-segura-2026",
            "new_password2": "Otra-clave-segura-2026",
        },
    )

    assert response.status_code == 302
    status, body = graphql(
        operator, "{ plans { code } }", host=settings.BASE_DOMAIN, token=platform_token
    )
    assert error_code(body) == "UNAUTHENTICATED", body
    (event,) = AuditEvent.objects.filter(action="auth.password_change", actor=platform_admin)
    assert event.changes == {"channel": "console", "tokens_revoked": 1}
    assert _signed_in(operator)


def test_a_refused_password_change_changes_nothing(operator, platform_admin):
    response = console_post(
        operator,
        "password_change/",
        {"old_password": "wrong", "new_password1": "123", "new_password2": "123"},
    )

    assert response.status_code == 200
    platform_admin.refresh_from_db()
    assert platform_admin.check_password(TEST_PASSWORD)
    assert not AuditEvent.objects.filter(action="auth.password_change").exists()

"""login, logout, me and bearer tokens, through Django's full middleware stack."""

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.utils import timezone
from django_tenants.utils import tenant_context

from backend.accounts.models import AuthToken, LoginFailure, Role, User
from tests.conftest import TEST_PASSWORD, error_code, graphql, operation_codes

pytestmark = pytest.mark.django_db

LOGIN = """
mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    __typename
    ... on AuthToken { token expiresAt user { id email fullName role } }
    ... on OperationInfo { messages { code field message } }
  }
}
"""
ME = "{ me { email role } }"
LOGOUT = "mutation { logout }"


def login(client, host, email, password=TEST_PASSWORD):
    status, body = graphql(
        client, LOGIN, host=host, variables={"email": email, "password": password}
    )
    assert status == 200
    return body["data"]["login"]


def test_login_returns_a_token_and_the_user(client, clinic1):
    payload = login(client, "clinica1.localhost", "ADMIN@clinica1.pe")
    assert payload["__typename"] == "AuthToken"
    assert payload["token"].startswith("dk_")
    assert payload["user"]["email"] == "admin@clinica1.pe"
    assert payload["user"]["role"] == "ADMIN"
    _, body = graphql(client, ME, host="clinica1.localhost", token=payload["token"])
    assert body == {"data": {"me": {"email": "admin@clinica1.pe", "role": "ADMIN"}}}


def test_token_expires_after_the_configured_time(client, clinic1, settings):
    settings.AUTH_TOKEN_TTL_SECONDS = 3600
    before = timezone.now()
    payload = login(client, "clinica1.localhost", "admin@clinica1.pe")
    expires_at = timezone.datetime.fromisoformat(payload["expiresAt"])
    assert timedelta(minutes=59) < expires_at - before <= timedelta(hours=1, seconds=5)


def test_tokens_are_stored_only_as_a_hash(client, clinic1):
    raw = login(client, "clinica1.localhost", "admin@clinica1.pe")["token"]
    with tenant_context(clinic1):
        stored = list(AuthToken.objects.values_list("key_hash", flat=True))
    assert stored
    assert raw not in stored
    assert all(len(key_hash) == 64 for key_hash in stored)


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("admin@clinica1.pe", "wrong-password"),
        ("nobody@clinica1.pe", TEST_PASSWORD),
        ("admin@clinica2.pe", TEST_PASSWORD),  # another clinic's account
        ("", ""),
    ],
)
def test_bad_credentials_get_invalid_credentials(client, clinic1, email, password):
    payload = login(client, "clinica1.localhost", email, password)
    assert payload["__typename"] == "OperationInfo"
    assert operation_codes(payload) == ["INVALID_CREDENTIALS"]


def test_an_inactive_user_cannot_log_in(client, clinic1, make_staff):
    make_staff(clinic1, Role.DENTIST, email="ex@clinica1.pe", active=False)
    payload = login(client, "clinica1.localhost", "ex@clinica1.pe")
    assert operation_codes(payload) == ["INVALID_CREDENTIALS"]


def test_five_failures_throttle_the_account_and_ip_until_the_window_passes(client, clinic1):
    for _ in range(5):
        assert operation_codes(login(client, "clinica1.localhost", "admin@clinica1.pe", "bad")) == [
            "INVALID_CREDENTIALS"
        ]
    # Even the right password is refused now.
    payload = login(client, "clinica1.localhost", "admin@clinica1.pe")
    assert operation_codes(payload) == ["LOGIN_THROTTLED"]
    assert "15" in payload["messages"][0]["message"]

    # Another account from the same IP is not throttled.
    assert login(client, "clinica1.localhost", "admin2@clinica1.pe", "bad")["messages"][0][
        "code"
    ] == ("INVALID_CREDENTIALS")

    # Once the window has passed, the account can sign in again.
    with tenant_context(clinic1):
        LoginFailure.objects.update(created_at=timezone.now() - timedelta(minutes=16))
    assert login(client, "clinica1.localhost", "admin@clinica1.pe")["__typename"] == "AuthToken"


def test_throttling_counters_are_per_clinic(client, clinic1, clinic2, make_staff):
    make_staff(clinic2, Role.ADMIN, email="admin@clinica1.pe")  # same email in clinica2
    for _ in range(5):
        login(client, "clinica1.localhost", "admin@clinica1.pe", "bad")
    assert operation_codes(login(client, "clinica1.localhost", "admin@clinica1.pe")) == [
        "LOGIN_THROTTLED"
    ]
    assert login(client, "clinica2.localhost", "admin@clinica1.pe")["__typename"] == "AuthToken"


def test_a_successful_login_clears_earlier_failures(client, clinic1):
    for _ in range(4):
        login(client, "clinica1.localhost", "admin@clinica1.pe", "bad")
    assert login(client, "clinica1.localhost", "admin@clinica1.pe")["__typename"] == "AuthToken"
    for _ in range(4):
        login(client, "clinica1.localhost", "admin@clinica1.pe", "bad")
    assert login(client, "clinica1.localhost", "admin@clinica1.pe")["__typename"] == "AuthToken"


def test_logout_revokes_the_token(client, clinic1, admin_token):
    _, body = graphql(client, LOGOUT, host="clinica1.localhost", token=admin_token)
    assert body == {"data": {"logout": True}}
    _, body = graphql(client, ME, host="clinica1.localhost", token=admin_token)
    assert error_code(body) == "UNAUTHENTICATED"


def test_logout_without_a_token_is_unauthenticated(client, clinic1):
    _, body = graphql(client, LOGOUT, host="clinica1.localhost")
    assert error_code(body) == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer ", "Bearer dk_not-a-real-token", "Basic YWRtaW46YWRtaW4=", "dk_x"],
)
def test_missing_or_malformed_tokens_are_unauthenticated(client, clinic1, header):
    response = client.post(
        "/graphql",
        data={"query": ME},
        content_type="application/json",
        HTTP_HOST="clinica1.localhost",
        HTTP_AUTHORIZATION=header,
    )
    assert response.status_code == 200
    assert error_code(response.json()) == "UNAUTHENTICATED"


def test_an_expired_token_is_unauthenticated(client, clinic1, admin_token):
    with tenant_context(clinic1):
        AuthToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    _, body = graphql(client, ME, host="clinica1.localhost", token=admin_token)
    assert error_code(body) == "UNAUTHENTICATED"


def test_a_token_of_another_clinic_is_unauthenticated(client, clinic1, clinic2, admin_token):
    # clinica2 also has a user with id 1 (its admin): the token must not become that user.
    _, body = graphql(client, ME, host="clinica2.localhost", token=admin_token)
    assert error_code(body) == "UNAUTHENTICATED"
    _, body = graphql(client, ME, host="localhost", token=admin_token)
    assert error_code(body) == "UNAUTHENTICATED"


def test_a_platform_token_is_unauthenticated_on_a_clinic(client, clinic1, platform_token):
    _, body = graphql(client, ME, host="localhost", token=platform_token)
    assert body["data"]["me"]["email"] == "root@platform.pe"
    _, body = graphql(client, ME, host="clinica1.localhost", token=platform_token)
    assert error_code(body) == "UNAUTHENTICATED"


def test_passwords_are_hashed_with_argon2(client, clinic1, settings, make_staff):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    user = make_staff(clinic1, Role.DENTIST)
    assert identify_hasher(user.password).algorithm == "argon2"
    assert login(client, "clinica1.localhost", user.email)["__typename"] == "AuthToken"


def test_a_copied_token_row_is_still_useless_in_another_clinic(
    client, clinic1, clinic2, admin_token
):
    """The hash binds the token to the issuing schema: even the same row in clinica2 (same
    user id 1, same hash) does not authenticate there."""
    with tenant_context(clinic1):
        original = AuthToken.objects.get()
    with tenant_context(clinic2):
        admin2 = User.objects.get(pk=original.user_id)  # clinica2's own user with that id
        AuthToken.objects.create(
            key_hash=original.key_hash, user=admin2, expires_at=original.expires_at
        )
    _, body = graphql(client, ME, host="clinica2.localhost", token=admin_token)
    assert error_code(body) == "UNAUTHENTICATED"


def test_one_ip_spraying_many_accounts_is_throttled(client, clinic1, settings):
    settings.LOGIN_THROTTLE_MAX_FAILURES_PER_IP = 8
    for index in range(8):
        assert operation_codes(
            login(client, "clinica1.localhost", f"user{index}@clinica1.pe", "x")
        ) == ["INVALID_CREDENTIALS"]
    assert operation_codes(login(client, "clinica1.localhost", "admin@clinica1.pe")) == [
        "LOGIN_THROTTLED"
    ]


def test_a_login_with_a_huge_email_is_invalid_credentials_not_an_error(client, clinic1):
    payload = login(client, "clinica1.localhost", "a" * 400 + "@x.pe", "x")
    assert operation_codes(payload) == ["INVALID_CREDENTIALS"]


def test_many_aliased_logins_in_one_request_are_refused_before_running(client, clinic1):
    aliases = " ".join(
        f'a{i}: login(email: "u{i}@x.pe", password: "x") {{ __typename }}' for i in range(40)
    )
    response = client.post(
        "/graphql", data={"query": f"mutation {{ {aliases} }}"}, content_type="application/json",
        HTTP_HOST="clinica1.localhost",
    )  # fmt: skip
    body = response.json()
    assert body.get("data") is None
    assert "aliases" in body["errors"][0]["message"].lower()
    with tenant_context(clinic1):
        assert not LoginFailure.objects.exists()


def test_introspection_is_not_counted_as_depth(client, clinic1, settings):
    settings.GRAPHQL_MAX_DEPTH = 3
    query = "{ __schema { types { name fields { name type { name ofType { name ofType { name } } } } } } }"
    _, body = graphql(client, query, host="clinica1.localhost")
    assert "errors" not in body

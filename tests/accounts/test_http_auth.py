"""Authentication over real HTTP: uvicorn on loopback, Host headers and bearer tokens."""

import concurrent.futures

import httpx
import pytest

from backend.accounts.models import Role, User
from backend.core.tenancy import clinic_context
from tests.conftest import PLATFORM_ADMIN_EMAIL, http_login, running_uvicorn

pytestmark = pytest.mark.slow

ME = {"query": "{ me { email } }"}


def me(server, host, token):
    return server.post(host, ME, headers={"Authorization": f"Bearer {token}"})


def code(response):
    return response.json()["errors"][0]["extensions"]["code"]


def test_tokens_work_only_on_the_clinic_that_issued_them(uvicorn_server):
    token_a = http_login(uvicorn_server, "clinica1.localhost", "admin@clinica1.pe")["token"]
    token_b = http_login(uvicorn_server, "clinica2.localhost", "admin@clinica2.pe")["token"]
    token_platform = http_login(uvicorn_server, "localhost", PLATFORM_ADMIN_EMAIL)["token"]

    assert me(uvicorn_server, "clinica1.localhost", token_a).json() == {
        "data": {"me": {"email": "admin@clinica1.pe"}}
    }
    assert me(uvicorn_server, "clinica2.localhost", token_b).json() == {
        "data": {"me": {"email": "admin@clinica2.pe"}}
    }
    # Both admins are user id 1 of their schema; neither token becomes the other user.
    for host, token in [
        ("clinica2.localhost", token_a),
        ("localhost", token_a),
        ("clinica1.localhost", token_b),
        ("localhost", token_b),
        ("clinica1.localhost", token_platform),
    ]:
        response = me(uvicorn_server, host, token)
        assert response.status_code == 200
        assert code(response) == "UNAUTHENTICATED", (host, response.text)


def test_no_token_and_a_garbage_token_are_unauthenticated(uvicorn_server):
    assert code(uvicorn_server.post("clinica1.localhost", ME)) == "UNAUTHENTICATED"
    assert code(me(uvicorn_server, "clinica1.localhost", "dk_garbage")) == "UNAUTHENTICATED"


def test_login_is_throttled_over_http(uvicorn_server):
    for _ in range(5):
        result = http_login(uvicorn_server, "clinica1.localhost", "fantasma@clinica1.pe", "x")
        assert result["messages"] == [{"code": "INVALID_CREDENTIALS"}]
    result = http_login(uvicorn_server, "clinica1.localhost", "fantasma@clinica1.pe", "x")
    assert result["messages"] == [{"code": "LOGIN_THROTTLED"}]


def test_a_suspended_clinics_tokens_stop_and_come_back_with_its_data(
    uvicorn_server, committed_clinic
):
    committed_clinic("pausada")
    token = http_login(uvicorn_server, "pausada.localhost", "admin@pausada.pe")["token"]
    root = http_login(uvicorn_server, "localhost", PLATFORM_ADMIN_EMAIL)["token"]
    auth = {"Authorization": f"Bearer {root}"}

    suspend = uvicorn_server.post(
        "localhost",
        {
            "query": 'mutation { suspendClinic(subdomain: "pausada", reason: "Impago") { __typename } }'
        },
        headers=auth,
    )
    assert suspend.json() == {"data": {"suspendClinic": {"__typename": "ManagedClinic"}}}
    response = me(uvicorn_server, "pausada.localhost", token)
    assert response.status_code == 403
    assert code(response) == "CLINIC_SUSPENDED"
    response = uvicorn_server.post(
        "pausada.localhost",
        {"query": 'mutation { login(email: "admin@pausada.pe", password: "x") { __typename } }'},
    )
    assert response.status_code == 403
    assert code(response) == "CLINIC_SUSPENDED"

    uvicorn_server.post(
        "localhost",
        {"query": 'mutation { reactivateClinic(subdomain: "pausada") { __typename } }'},
        headers=auth,
    )
    assert me(uvicorn_server, "pausada.localhost", token).json() == {
        "data": {"me": {"email": "admin@pausada.pe"}}
    }


def test_20_parallel_creations_with_one_seat_left_give_exactly_one_user(
    django_db_blocker, committed_clinic
):
    clinic = committed_clinic("concurrente", plan="basic")  # 5 users; the admin is one
    with django_db_blocker.unblock(), clinic_context(clinic):
        for index in range(3):
            User.objects.create_user(
                email=f"u{index}@concurrente.pe", password="x", role=Role.ASSISTANT
            )
    mutation = (
        "mutation($input: CreateStaffUserInput!) { createStaffUser(input: $input) {"
        " __typename ... on OperationInfo { messages { code message } } } }"
    )

    with running_uvicorn(django_db_blocker, workers=4) as server:
        token = http_login(server, "concurrente.localhost", "admin@concurrente.pe")["token"]

        def create(index):
            variables = {
                "input": {"email": f"par{index}@concurrente.pe", "fullName": f"Par {index}",
                          "role": "ASSISTANT", "password": "Muy-segura-123"}
            }  # fmt: skip
            response = server.post(
                "concurrente.localhost", {"query": mutation, "variables": variables},
                headers={"Authorization": f"Bearer {token}"}, timeout=60,
            )  # fmt: skip
            assert response.status_code == 200, response.text
            return response.json()["data"]["createStaffUser"]

        with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(create, range(20)))

    created = [r for r in results if r["__typename"] == "StaffUser"]
    refused = [r for r in results if r["__typename"] == "OperationInfo"]
    assert len(created) == 1
    assert len(refused) == 19
    assert {m["code"] for r in refused for m in r["messages"]} == {"PLAN_LIMIT_REACHED"}
    with django_db_blocker.unblock(), clinic_context(clinic):
        assert User.objects.filter(is_active=True).count() == 5


def test_graphql_over_http_rejects_a_get_mutation(uvicorn_server):
    response = uvicorn_server.request(
        "GET",
        "/graphql?query=mutation%7Blogout%7D",
        "clinica1.localhost",
        headers={"Accept": "application/json"},
    )
    assert 400 <= response.status_code < 500


def test_httpx_is_really_talking_to_uvicorn(uvicorn_server):
    response = httpx.get(f"{uvicorn_server.url}/healthz", headers={"Host": "localhost"})
    assert response.headers["server"] == "uvicorn"

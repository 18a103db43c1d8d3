"""Host routing over real HTTP: uvicorn on loopback, the Host header picks the schema."""

import pytest

pytestmark = pytest.mark.slow

CURRENT_CLINIC = {"query": "{ currentClinic { name subdomain timezone plan { code maxUsers } } }"}


def test_a_clinic_subdomain_reaches_that_clinic(uvicorn_server):
    response = uvicorn_server.post("clinica1.localhost", CURRENT_CLINIC)
    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "currentClinic": {
                "name": "Clínica Dental Norte",
                "subdomain": "clinica1",
                "timezone": "America/Lima",
                "plan": {"code": "PROFESSIONAL", "maxUsers": 10},
            }
        }
    }


def test_each_subdomain_reaches_its_own_clinic(uvicorn_server):
    response = uvicorn_server.post("clinica2.localhost", CURRENT_CLINIC)
    assert response.json()["data"]["currentClinic"]["name"] == "Dental Smile"


def test_the_base_domain_reaches_the_public_schema(uvicorn_server):
    response = uvicorn_server.post("localhost", CURRENT_CLINIC)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "TENANT_DOMAIN_ONLY"


@pytest.mark.parametrize(
    "host", ["desconocida.localhost", "evil.example.com", "localhost.evil.com"]
)
def test_an_unknown_host_gets_a_json_404(uvicorn_server, host):
    response = uvicorn_server.post(host, CURRENT_CLINIC)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["errors"][0]["extensions"]["code"] == "UNKNOWN_HOST"


def test_a_suspended_clinic_gets_a_json_403(uvicorn_server):
    response = uvicorn_server.post("cerrada.localhost", CURRENT_CLINIC)
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "CLINIC_SUSPENDED"


def test_an_unknown_path_is_json_even_with_debug_on(uvicorn_server):
    response = uvicorn_server.request("GET", "/admin/", "clinica1.localhost")
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("host", ["localhost", "clinica1.localhost"])
def test_healthz_answers_json_after_checking_the_database(uvicorn_server, host):
    response = uvicorn_server.request("GET", "/healthz", host)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_graphiql_opens_in_a_browser_when_enabled(uvicorn_server):
    response = uvicorn_server.request(
        "GET", "/graphql", "clinica1.localhost", headers={"Accept": "text/html"}
    )
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


def test_cors_allows_a_clinic_origin(uvicorn_server):
    origin = "http://clinica1.localhost:3000"
    response = uvicorn_server.request(
        "OPTIONS",
        "/graphql",
        "clinica1.localhost",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    assert "authorization" in response.headers["access-control-allow-headers"]


def test_cors_refuses_an_origin_outside_the_base_domain(uvicorn_server):
    response = uvicorn_server.request(
        "OPTIONS",
        "/graphql",
        "clinica1.localhost",
        headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in response.headers

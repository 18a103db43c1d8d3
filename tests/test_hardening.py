"""The GraphQL endpoint against hostile or broken requests: every refusal is a JSON 4xx with
a code, never a 500 or an HTML page, and never a stack trace."""

import json
import re

import pytest
from django.db import connection
from graphql import Undefined

from backend.core.tenancy import clinic_context
from backend.patients import selectors as patient_selectors
from graphql_api.schema import schema
from tests.conftest import error_code, graphql

pytestmark = pytest.mark.django_db

HOST = "clinica1.localhost"


def post_raw(client, body, content_type="application/json", **extra):
    return client.generic(
        "POST", "/graphql", body, content_type=content_type, HTTP_HOST=HOST, **extra
    )


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[]",
        b'{"query": 42}',
        b'{"variables": {}}',
        "\udcff".encode("utf-8", "surrogatepass"),
    ],
    ids=["malformed", "empty", "array", "number-query", "no-query", "bad-utf8"],
)
def test_broken_bodies_get_a_json_400(client, clinic1, body):
    response = post_raw(client, body)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["errors"][0]["extensions"]["code"] in {
        "BAD_REQUEST",
        "GRAPHQL_VALIDATION_FAILED",
    }


def test_a_mutation_over_get_is_refused(client, clinic1):
    response = client.get(
        "/graphql", {"query": "mutation { logout }"}, HTTP_HOST=HOST, HTTP_ACCEPT="application/json"
    )
    assert 400 <= response.status_code < 500
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_a_query_over_get_works(client, clinic1):
    response = client.get(
        "/graphql",
        {"query": "{ currentClinic { name } }"},
        HTTP_HOST=HOST,
        HTTP_ACCEPT="application/json",
    )
    assert response.json() == {"data": {"currentClinic": {"name": "Clínica Dental Norte"}}}


def test_a_one_megabyte_query_is_refused_before_it_is_read(client, clinic1):
    body = json.dumps({"query": "{ currentClinic { name } }" + " " * (1024 * 1024)}).encode()
    response = post_raw(client, body)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"


def test_an_unknown_field_is_a_400(client, clinic1):
    status, body = graphql(client, "{ nope }", host=HOST)
    assert status == 400
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_an_unexpected_error_is_masked_with_a_request_id(
    client, clinic1, admin_token, monkeypatch, settings, caplog
):
    settings.DEBUG = False

    def explode(**kwargs):
        raise RuntimeError("secret detail: SELECT * FROM patients_patient")

    monkeypatch.setattr(patient_selectors, "patient_list", explode)
    response = client.post(
        "/graphql", data={"query": "{ patients(first: 1) { totalCount } }"}, content_type="application/json",
        HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Bearer {admin_token}", HTTP_X_REQUEST_ID="req-12345678",
    )  # fmt: skip
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL_ERROR", "requestId": "req-12345678"}
    assert "secret" not in json.dumps(response.json())
    assert response["X-Request-ID"] == "req-12345678"
    assert "req-12345678" in caplog.text
    assert "secret detail" in caplog.text  # the full error is in the log


GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
QUERY = json.dumps({"query": "{ currentClinic { name } }"})
# Every kind of answer, over real HTTP (uvicorn), without an Origin (no CORS involved):
# (case, method, path, host, body, extra headers, status, code of the JSON error or None).
ANSWERS = [
    ("graphql-200", "POST", "/graphql", "clinica1.localhost", QUERY, {}, 200, None),
    ("graphql-refusal-200", "POST", "/graphql", "clinica1.localhost",
     json.dumps({"query": "{ me { email } }"}), {}, 200, "UNAUTHENTICATED"),
    ("graphql-400", "POST", "/graphql", "clinica1.localhost",
     json.dumps({"query": "{ nope }"}), {}, 400, "GRAPHQL_VALIDATION_FAILED"),
    ("broken-json-400", "POST", "/graphql", "clinica1.localhost", "{not json", {}, 400,
     "BAD_REQUEST"),
    ("put-405", "PUT", "/graphql", "clinica1.localhost", QUERY, {}, 405, "BAD_REQUEST"),
    ("unknown-path-404", "GET", "/nope", "clinica1.localhost", None, {}, 404, "NOT_FOUND"),
    ("unknown-host-404", "POST", "/graphql", "nadie.localhost", QUERY, {}, 404, "UNKNOWN_HOST"),
    ("foreign-host-404", "POST", "/graphql", "evil.example.org", QUERY, {}, 404,
     "UNKNOWN_HOST"),
    ("suspended-403", "POST", "/graphql", "cerrada.localhost", QUERY, {}, 403,
     "CLINIC_SUSPENDED"),
    ("too-large-413", "POST", "/graphql", "clinica1.localhost", " " * 300_000, {}, 413,
     "REQUEST_TOO_LARGE"),
    ("preflight-200", "OPTIONS", "/graphql", "clinica1.localhost", None, {
        "Origin": "http://clinica1.localhost:3000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }, 200, None),
    ("healthz-200", "GET", "/healthz", "localhost", None, {}, 200, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "host", "body", "headers", "status", "code"),
    [answer[1:] for answer in ANSWERS],
    ids=[answer[0] for answer in ANSWERS],
)
def test_every_response_carries_a_request_id(
    uvicorn_server, method, path, host, body, headers, status, code
):
    """Whatever answers (the API, a refusal in a middleware, Django's 404, the CORS preflight):
    a fresh id when the client sent none or an unsafe one, the client's own when it is safe."""
    headers = {"content-type": "application/json", **headers}

    def send(**extra):
        return uvicorn_server.request(
            method, path, host, content=body, headers={**headers, **extra}
        )

    first, second = send(), send()
    assert first.status_code == status, first.text
    if code is not None:
        assert first.json()["errors"][0]["extensions"]["code"] == code
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(GENERATED_ID.match(value) for value in ids), ids
    assert ids[0] != ids[1]
    assert send(**{"X-Request-ID": "req-front-0001"}).headers["x-request-id"] == "req-front-0001"
    unsafe = send(**{"X-Request-ID": "bad id with spaces"}).headers["x-request-id"]
    assert GENERATED_ID.match(unsafe), unsafe


def test_introspection_is_off_unless_enabled(client, clinic1, settings):
    settings.GRAPHQL_INTROSPECTION = False
    status, body = graphql(client, "{ __schema { queryType { name } } }", host=HOST)
    assert status == 400
    assert "introspection" in body["errors"][0]["message"].lower()
    settings.GRAPHQL_INTROSPECTION = True
    _, body = graphql(client, "{ __schema { queryType { name } } }", host=HOST)
    assert body == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


def test_security_headers(client, clinic1, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.post(
        "/graphql",
        data={"query": "{ currentClinic { name } }"},
        content_type="application/json",
        HTTP_HOST=HOST,
        secure=True,
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    page = client.get("/graphql", HTTP_HOST=HOST, HTTP_ACCEPT="text/html")
    assert page["X-Frame-Options"] == "DENY"


def test_every_statement_has_a_timeout(clinic1):
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "10s"


def test_bearer_requests_need_no_csrf_token(clinic1, admin_token):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(
        "/graphql",
        data={"query": "{ me { email } }"},
        content_type="application/json",
        HTTP_HOST=HOST,
        HTTP_AUTHORIZATION=f"Bearer {admin_token}",
    )
    assert response.json() == {"data": {"me": {"email": "admin@clinica1.pe"}}}


@pytest.mark.parametrize(
    "body",
    [
        b'{"query": "mutation { createChair(name: \\"a\\\\u0000b\\") { __typename } }"}',
        b'{"query": "mutation($n: String!) { createChair(name: $n) { __typename } }", "variables": {"n": "\\u0000"}}',
    ],
)
def test_nul_characters_are_refused_with_a_400(client, clinic1, admin_token, body):
    response = post_raw(client, body, HTTP_AUTHORIZATION=f"Bearer {admin_token}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.slow
def test_the_asgi_app_refuses_persistent_connections(django_db_blocker):
    """Under ASGI every request runs in a thread of its own, so CONN_MAX_AGE > 0 would only
    pile connections up until PostgreSQL refuses clients: the app refuses to start."""
    import subprocess
    import sys

    from tests.conftest import ROOT, child_env

    with django_db_blocker.unblock():
        env = child_env(CONN_MAX_AGE="60")
    result = subprocess.run(
        [sys.executable, "-c", "import backend.asgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "CONN_MAX_AGE must be 0" in result.stderr


# --- page size and cursors ------------------------------------------------------------------

PAGE_ARGS = {"first", "last", "after", "before"}
CONNECTIONS = sorted(
    name
    for name, field in schema._schema.query_type.fields.items()
    if set(field.args) >= PAGE_ARGS
    and all(  # callable without other arguments
        not str(arg.type).endswith("!") or arg.default_value is not Undefined
        for arg_name, arg in field.args.items()
        if arg_name not in PAGE_ARGS
    )
    and name != "clinics"  # platform-only; covered below
)
BAD_PAGES = ["first: 101", "first: -1", "last: 500", 'after: "zzz"', 'before: "YXJyYXk6eA=="']


@pytest.mark.parametrize("page", BAD_PAGES)
@pytest.mark.parametrize("field", CONNECTIONS)
def test_a_bad_page_is_refused_with_a_code_on_every_connection(client, admin_token, field, page):
    status, body = graphql(
        client,
        f"{{ {field}({page}) {{ totalCount }} }}",
        host="clinica1.localhost",
        token=admin_token,
    )
    assert status == 200
    assert error_code(body) == "INVALID_PAGINATION", body
    assert "100" in body["errors"][0]["message"]


def test_the_bad_page_test_covers_every_clinic_list_but_those_of_one_patient():
    lists = {n for n, f in schema._schema.query_type.fields.items() if "first" in f.args}
    assert lists - set(CONNECTIONS) == {"clinics", "clinicalNotes", "patientDocuments"}
    assert CONNECTIONS == [  # the paginated lists docs/permissions.md names, alphabetically
        "appointments", "assistantConversations", "auditEvents", "chairs", "inbox",
        "notifications", "patients",
        "procedures", "professionals", "receipts", "staff", "treatmentPlans",
    ]  # fmt: skip


def test_a_full_page_is_accepted_and_the_page_size_is_configurable(
    client, admin_token, monkeypatch
):
    def query(first: int) -> str:
        return f"{{ patients(first: {first}) {{ totalCount }} }}"

    _, body = graphql(client, query(100), host="clinica1.localhost", token=admin_token)
    assert "errors" not in body, body
    monkeypatch.setattr(schema.config, "relay_max_results", 5)
    _, body = graphql(client, query(6), host="clinica1.localhost", token=admin_token)
    assert error_code(body) == "INVALID_PAGINATION"
    _, body = graphql(client, query(5), host="clinica1.localhost", token=admin_token)
    assert "errors" not in body, body


def test_platform_clinics_refuse_a_bad_page(client, platform_token):
    _, body = graphql(
        client, "{ clinics(first: 1000) { totalCount } }", host="localhost", token=platform_token
    )
    assert error_code(body) == "INVALID_PAGINATION"


def test_a_patients_notes_and_documents_refuse_a_bad_page(client, clinic1, admin_token):
    from backend.patients.models import Patient
    from tests.ids import global_id

    with clinic_context(clinic1):
        patient = Patient.objects.create(
            first_name="Rosa", last_name="Quispe", document_type="DNI", document_number="44445555"
        )
    for field in ("clinicalNotes", "patientDocuments"):
        for page in ("first: 101", 'after: "zzz"'):
            patient_id = global_id("Patient", patient.pk)
            query = f'{{ {field}(patientId: "{patient_id}", {page}) {{ totalCount }} }}'
            _, body = graphql(client, query, host="clinica1.localhost", token=admin_token)
            assert error_code(body) == "INVALID_PAGINATION", (field, body)

"""CORS on every answer a browser front end must read, refusals included, over real HTTP.

The CORS middleware runs before every middleware that can refuse a request (request size,
declared or counted as a chunked body arrives, unknown host, suspended clinic, database down) and around Django's error handlers, so an
allowed origin can read each refusal's code and its ``X-Request-ID``; any other origin gets no
CORS header at all. The same requests, sent by a real browser: ``test_cors_browser.py``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from backend import urls as project_urls
from tests.conftest import LiveServer

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.own_postgres"]

ALLOWED_ORIGIN = "http://clinica1.localhost:3000"
DISALLOWED_ORIGINS = ["https://evil.example.com", "http://127.0.0.1:3000", "null"]
JSON = {"content-type": "application/json"}
ME = json.dumps({"query": "{ me { email } }"})
REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Refusal:
    """A request that the API refuses, and how: what a front end must be able to read."""

    id: str
    code: str
    status: int
    host: str
    method: str = "POST"
    path: str = "/graphql"
    body: str | None = ME
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    database_down: bool = False  # sent to a server whose database is down
    chunked: bool = False  # the body sent with Transfer-Encoding: chunked (no Content-Length)

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}{self.path}"


def _too_large() -> str:
    padding = "x" * settings.MAX_REQUEST_BYTES
    return json.dumps({"query": "{ __typename }", "variables": {"padding": padding}})


REFUSALS = [
    Refusal("unknown-host", "UNKNOWN_HOST", 404, "desconocida.localhost"),
    Refusal("suspended", "CLINIC_SUSPENDED", 403, "cerrada.localhost",
            method="GET", path="/graphql?query=%7B__typename%7D", body=None, headers={}),
    # Authorization (and the JSON content type) make a browser send a preflight first.
    Refusal("suspended-preflighted", "CLINIC_SUSPENDED", 403, "cerrada.localhost",
            headers={**JSON, "authorization": "Bearer dk_not-a-token"}),
    Refusal("too-large", "REQUEST_TOO_LARGE", 413, "clinica1.localhost", body=_too_large()),
    Refusal("too-large-chunked", "REQUEST_TOO_LARGE", 413, "clinica1.localhost",
            body=_too_large(), chunked=True),
    Refusal("database-down", "DATABASE_UNAVAILABLE", 503, "clinica1.localhost",
            database_down=True),
    Refusal("bad-json", "BAD_REQUEST", 400, "clinica1.localhost", body="{not json"),
    Refusal("no-token", "UNAUTHENTICATED", 200, "clinica1.localhost"),
    Refusal("unknown-path", "NOT_FOUND", 404, "clinica1.localhost",
            method="GET", path="/nope", body=None, headers={}),
]  # fmt: skip


def _send(refusal: Refusal, server: LiveServer, origin: str):
    content = refusal.body.encode() if refusal.body is not None else None
    if content is not None and refusal.chunked:
        whole = content
        content = iter([whole[i : i + 16384] for i in range(0, len(whole), 16384)])
    return server.request(
        refusal.method,
        refusal.path,
        refusal.host,
        headers={**refusal.headers, "Origin": origin},
        content=content,
    )


@pytest.fixture
def server_for(uvicorn_server, request):
    """The server a refusal is sent to: the suite's, or one whose database is down (started
    only for the tests that need it)."""

    def pick(refusal: Refusal) -> LiveServer:
        if refusal.database_down:
            return request.getfixturevalue("database_down_server")
        return uvicorn_server

    return pick


def _vary(response) -> set[str]:
    return {value.strip().lower() for value in response.headers.get("vary", "").split(",")}


@pytest.mark.parametrize("refusal", REFUSALS, ids=[r.id for r in REFUSALS])
def test_an_allowed_origin_can_read_every_refusal_and_its_request_id(server_for, refusal):
    response = _send(refusal, server_for(refusal), ALLOWED_ORIGIN)

    assert response.status_code == refusal.status, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == refusal.code
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert response.headers["access-control-expose-headers"].lower() == "x-request-id"
    assert REQUEST_ID.match(response.headers["x-request-id"])
    assert "origin" in _vary(response)


@pytest.mark.parametrize("origin", DISALLOWED_ORIGINS)
@pytest.mark.parametrize("refusal", REFUSALS, ids=[r.id for r in REFUSALS])
def test_a_disallowed_origin_gets_no_cors_header_on_any_answer(server_for, refusal, origin):
    response = _send(refusal, server_for(refusal), origin)

    assert response.status_code == refusal.status
    assert response.json()["errors"][0]["extensions"]["code"] == refusal.code
    assert not [name for name in response.headers if name.startswith("access-control-")]
    # The answer still depends on Origin: a shared cache must not serve it to another one.
    assert "origin" in _vary(response)


@pytest.mark.parametrize(
    "host", ["clinica1.localhost", "cerrada.localhost", "desconocida.localhost", "localhost"]
)
def test_a_preflight_is_answered_on_every_host_with_a_request_id(uvicorn_server, host):
    response = uvicorn_server.request(
        "OPTIONS",
        "/graphql",
        host,
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    allowed = {h.strip() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "POST" in response.headers["access-control-allow-methods"]
    assert REQUEST_ID.match(response.headers["x-request-id"])


def test_a_preflight_on_a_server_whose_database_is_down_is_answered(database_down_server):
    response = database_down_server.request(
        "OPTIONS",
        "/graphql",
        "clinica1.localhost",
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


@pytest.mark.parametrize("origin", DISALLOWED_ORIGINS)
def test_a_preflight_from_a_disallowed_origin_allows_nothing(uvicorn_server, origin):
    response = uvicorn_server.request(
        "OPTIONS",
        "/graphql",
        "cerrada.localhost",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    assert not [name for name in response.headers if name.startswith("access-control-")]


# --- Django's own error handlers (400, 403, 404, 500), in process --------------------------


def _raising(error: Exception):
    def view(request: HttpRequest) -> HttpResponse:
        raise error

    return view


# This module is also the URLconf of the tests below: the project's URLs, plus views that
# raise what Django's error handlers answer.
urlpatterns = [
    path("raise/suspicious", _raising(SuspiciousOperation("test"))),
    path("raise/permission", _raising(PermissionDenied())),
    path("raise/not-found", _raising(Http404())),
    path("raise/error", _raising(RuntimeError("a bug"))),
    *project_urls.urlpatterns,
]
handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/raise/suspicious", 400, "BAD_REQUEST"),
        ("/raise/permission", 403, "FORBIDDEN"),
        ("/raise/not-found", 404, "NOT_FOUND"),
        ("/raise/error", 500, "INTERNAL_ERROR"),
        ("/anything/else", 404, "NOT_FOUND"),
    ],
)
def test_djangos_error_handlers_answer_with_cors_headers(db, url, status, code):
    client = Client(raise_request_exception=False)
    response = client.get(url, HTTP_HOST="clinica1.localhost", HTTP_ORIGIN=ALLOWED_ORIGIN)

    assert response.status_code == status
    assert response.json()["errors"][0]["extensions"]["code"] == code
    assert response["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert response["Access-Control-Expose-Headers"].lower() == "x-request-id"
    assert REQUEST_ID.match(response["X-Request-ID"])

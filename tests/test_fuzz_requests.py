"""Raw requests, not well-typed variables (issue 12, item 2): GraphQL documents with string
escapes, JSON bodies written by hand (deep nesting, lone surrogates, repeated keys, huge and
non-finite numbers, bodies that are not objects), GET query strings and other content types.
Whatever arrives, the answer is JSON, never a 5xx, never INTERNAL_ERROR, and every error has
a code. The reported inputs are explicit cases, through Django's test client and through a
real uvicorn (the ASGI path, DEBUG off)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from django.conf import settings
from django.db import connection
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from backend.accounts.models import LoginFailure
from backend.core.tenancy import clinic_context
from tenants_core.services import clinic_provision
from tests.conftest import TEST_PASSWORD, production_like_env, running_uvicorn

pytestmark = pytest.mark.django_db

HOST = "clinica1.localhost"
CODES = {"BAD_REQUEST", "BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"}
LOGIN = 'mutation { login(email: "%s", password: "x") { __typename } }'
LOGIN_VARIABLES = 'mutation($e: String!) { login(email: $e, password: "x") { __typename } }'

# The four inputs the review reported, and their siblings. Each: (method, body or query
# string, content type).
REPORTED: list[tuple[str, bytes | str, str]] = [
    # \u{0} inside a GraphQL string literal (the query text, not JSON), anonymous login.
    ("POST", json.dumps({"query": LOGIN % "a\\u{0}@x.pe"}), "application/json"),
    # A lone surrogate in JSON variables.
    ("POST", '{"query": ' + json.dumps(LOGIN_VARIABLES) + ', "variables": {"e": "\\ud800"}}', "application/json"),
    # A NUL in GET variables, JSON-escaped inside the parameter.
    ("GET", "query=" + quote("{ __typename }") + "&variables=" + quote('{"e": "\\u0000"}'), ""),
    # variables nested 100,000 arrays deep.
    ("POST", '{"query": "{ __typename }", "variables": {"a": ' + "[" * 100_000 + "]" * 100_000 + "}}", "application/json"),
]  # fmt: skip
SIBLINGS: list[tuple[str, bytes | str, str]] = [
    ("POST", json.dumps({"query": LOGIN % "a\\u0000@x.pe"}), "application/json"),
    ("POST", json.dumps({"query": 'mutation { login(email: """a\x00""", password: "x") { __typename } }'}), "application/json"),
    ("POST", json.dumps({"query": LOGIN % "a\\ud800@x.pe"}), "application/json"),
    ("POST", json.dumps({"query": LOGIN % "a\\u{D800}@x.pe"}), "application/json"),
    ("POST", json.dumps({"query": LOGIN % "a\\u{110000}@x.pe"}), "application/json"),
    ("POST", '{"query": "{ __typename }", "variables": {"a": 1e999999}}', "application/json"),
    ("POST", '{"query": "{ __typename }", "variables": {"a": ' + "9" * 5000 + "}}", "application/json"),
    ("POST", '{"query": "{ __typename }", "variables": {"a": NaN}}', "application/json"),
    ("POST", '{"query": "{ __typename }", "variables": {"a": -Infinity}}', "application/json"),
    ("POST", '{"query": "{ __typename }", "query": "mutation { logout }"}', "application/json"),
    ("POST", '{"query": "{ __typename }", "operationName": "\\ud800"}', "application/json"),
    ("POST", '{"query": "{ __typename }", "operationName": 7}', "application/json"),
    ("POST", '{"query": "{ __typename }", "extensions": {"x": "\\udfff"}}', "application/json"),
    ("POST", '{"query": "{ __typename }", "extensions": "x"}', "application/json"),
    ("POST", '{"query": "{ __typename } # \\ud800"}', "application/json"),
    ("POST", '{"query": "{ __typename }", "variables": "x"}', "application/json"),
    ("POST", '"just a string"', "application/json"),
    ("POST", "42", "application/json"),
    ("POST", "null", "application/json"),
    ("POST", "[1, 2]", "application/json"),
    ("POST", "[" * 100_000, "application/json"),
    ("POST", '{"query": "{ patients(first: ' + "9" * 5000 + ') { totalCount } }"}', "application/json"),
    ("POST", '{"query": "{ patients(first: 1e999999) { totalCount } }"}', "application/json"),
    ("POST", b'{"query": "{ __typename }", "x": "\xff"}', "application/json"),
    ("POST", '{"query": "{ __typename }"}'.encode("utf-16"), "application/json"),
    ("POST", "{ __typename }", "application/graphql"),
    ("POST", "query=%7B+__typename+%7D", "application/x-www-form-urlencoded"),
    ("POST", b'--b\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query": "{ __typename }"}\r\n--b--\r\n', "multipart/form-data; boundary=b"),
    ("POST", '{"query": "{ __typename }"}', "text/plain"),
    ("GET", "query=" + quote("{ __typename }") + "&variables=" + quote('{"e": "\\ud800"}'), ""),
    ("GET", "query=" + quote("{ __typename }") + "&variables=" + quote("[" * 5000), ""),
    ("GET", "query=" + quote("{ __typename }") + "&variables=" + quote('{"a": NaN}'), ""),
    ("GET", "query=" + quote("{ __typename }") + "&variables=" + quote('"x"'), ""),
    ("GET", "query=" + quote("{ __typename }") + "&extensions=" + quote("[1]"), ""),
    ("GET", "query=%7B+__typename+%7D%00", ""),
    ("GET", "query=" + quote('{ patients(search: "\\u{0}") { totalCount } }'), ""),
    ("GET", "query=%ED%A0%80", ""),
    ("GET", "operationName=%00&query=" + quote("{ __typename }"), ""),
    ("GET", "query=" + quote("mutation { logout }"), ""),
]  # fmt: skip


def check(status: int, content_type: str, body: bytes) -> dict[str, Any]:
    """The invariants of every answer; returns the decoded body."""
    assert status < 500, body[:300]
    assert content_type.startswith("application/json"), (status, body[:300])
    payload = json.loads(body)
    for error in payload.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code, error
        assert code != "INTERNAL_ERROR", error
    return payload


def send(client: Any, method: str, payload: bytes | str, content_type: str, **headers: Any) -> Any:
    if method == "GET":
        return client.get(
            f"/graphql?{payload}", HTTP_HOST=HOST, HTTP_ACCEPT="application/json", **headers
        )
    if isinstance(payload, str):  # a lone surrogate goes out as the bytes it would be
        payload = payload.encode("utf-8", "surrogatepass")
    return client.generic(
        "POST", "/graphql", payload, content_type=content_type, HTTP_HOST=HOST, **headers
    )


@pytest.mark.parametrize(
    ("method", "payload", "content_type"),
    REPORTED + SIBLINGS,
    ids=[f"reported-{i}" for i in range(len(REPORTED))] + [f"{i}" for i in range(len(SIBLINGS))],
)
def test_a_broken_request_gets_a_coded_json_4xx(client, clinic1, method, payload, content_type):
    response = send(client, method, payload, content_type)
    body = check(response.status_code, response["Content-Type"], response.content)
    assert 400 <= response.status_code < 500, body
    assert body["errors"][0]["extensions"]["code"] in CODES


def test_a_refused_login_changes_nothing(client, clinic1):
    with clinic_context(clinic1):
        before = LoginFailure.objects.count()
    for method, payload, content_type in REPORTED[:2]:
        assert send(client, method, payload, content_type).status_code == 400
    with clinic_context(clinic1):
        assert LoginFailure.objects.count() == before


def test_a_well_formed_request_still_works_every_way(client, clinic1, admin_token):
    post = send(client, "POST", '{"query": "{ __typename }", "variables": {}}', "application/json")
    get = send(client, "GET", "query=" + quote("{ __typename }") + "&variables=", "")
    for response in (post, get):
        assert response.json() == {"data": {"__typename": "Query"}}
    escaped = json.dumps({"query": '{ patients(search: "Jos\\u00e9 \\u{1F600}") { totalCount } }'})
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {admin_token}"}
    response = send(client, "POST", escaped, "application/json", **bearer)
    assert response.json() == {"data": {"patients": {"totalCount": 0}}}


# --- through uvicorn (the ASGI path), DEBUG off --------------------------------------------


@pytest.fixture(scope="module")
def production_server(django_db_setup, django_db_blocker):
    """uvicorn with DEBUG off, and a clinic of its own: what it writes is committed (failed
    logins count against the client's IP), so it must not land in the shared clinics."""
    with django_db_blocker.unblock():
        clinic = clinic_provision(
            subdomain="fuzzreq", name="Fuzz", legal_id="20600000005", email="hola@fuzzreq.pe",
            plan="basic", admin_email="admin@fuzzreq.pe", admin_password=TEST_PASSWORD,
        )  # fmt: skip
    try:
        with running_uvicorn(django_db_blocker, env=production_like_env()) as server:
            yield server
    finally:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            clinic.delete(force_drop=True)


SERVER_HOST = "fuzzreq.localhost"


def send_http(server: Any, method: str, payload: bytes | str, content_type: str) -> httpx.Response:
    headers = {"Host": f"{SERVER_HOST}:{server.port}"}
    if method == "GET":
        return httpx.get(f"{server.url}/graphql?{payload}", headers=headers, timeout=30)
    headers["Content-Type"] = content_type
    data = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
    return httpx.post(f"{server.url}/graphql", content=data, headers=headers, timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "payload", "content_type"),
    REPORTED + SIBLINGS[:12],
    ids=[f"reported-{i}" for i in range(len(REPORTED))] + [f"{i}" for i in range(12)],
)
def test_a_broken_request_gets_a_coded_json_4xx_over_uvicorn(
    production_server, method, payload, content_type
):
    response = send_http(production_server, method, payload, content_type)
    body = check(response.status_code, response.headers.get("content-type", ""), response.content)
    assert 400 <= response.status_code < 500, body


def in_chunks(data: bytes, size: int = 4096) -> Iterator[bytes]:
    """A body that httpx sends with ``Transfer-Encoding: chunked`` (no Content-Length)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (REPORTED[3][1].encode(), 400, "BAD_REQUEST"),  # nested 100,000 deep, under the limit
        (b"[1, 2]", 400, "BAD_REQUEST"),
        (b'{"query": "{ __typename }", "variables": {"a": "' + b"x" * settings.MAX_REQUEST_BYTES
         + b'"}}', 413, "REQUEST_TOO_LARGE"),
    ],
    ids=["reported-3", "not-an-object", "over-the-limit"],
)  # fmt: skip
def test_a_chunked_body_gets_a_coded_json_answer_over_uvicorn(
    production_server, body, status, code
):
    response = httpx.post(
        f"{production_server.url}/graphql",
        content=in_chunks(body),
        headers={"Host": f"{SERVER_HOST}:{production_server.port}",
                 "Content-Type": "application/json"},
        timeout=30,
    )  # fmt: skip
    payload = check(
        response.status_code, response.headers.get("content-type", ""), response.content
    )
    assert response.status_code == status, payload
    assert payload["errors"][0]["extensions"]["code"] == code


# --- generated raw requests ----------------------------------------------------------------

ESCAPES = [
    "\\u0000", "\\u{0}", "\\u{00000}", "\\ud800", "\\udfff", "\\uD83D\\uDE00", "\\uDE00\\uD83D",
    "\\u{D800}", "\\u{10FFFF}", "\\u{110000}", "\\u{FFFFFFFFFF}", "\\u{}", "\\u12", "\\x41", "\\",
    '\\"', "\\\\", "\\n", "\\t", "\\/", "\\b", "\\f", "\\r", "\\u00e9", "\\u{1F600}",
]  # fmt: skip
# Escapes that decode to NUL, the character PostgreSQL cannot store, weigh as much as all the rest.
NUL_ESCAPES = ["\\u0000", "\\u{0}", "\\u{00}", "\\u{000000}"]
string_bodies = st.lists(
    st.one_of(
        st.sampled_from(NUL_ESCAPES),
        st.sampled_from(ESCAPES),
        st.text(alphabet=st.characters(blacklist_characters='"\\\n\r'), max_size=4),
        st.sampled_from(["\x00", "\x01", "\t", "\u2028", "\ufeff"]),
    ),
    max_size=4,
).map("".join)
graphql_strings = st.one_of(
    string_bodies.map(lambda s: f'"{s}"'),
    string_bodies.map(lambda s: f'"""{s}"""'),
    st.sampled_from(['"""a \\""" b"""', '"unterminated', '"""unterminated', '"\n"']),
)
graphql_numbers = st.one_of(
    st.integers(min_value=-(10**80), max_value=10**80).map(str),
    st.sampled_from(["1e999999", "-1e999999", "1e-999999", "0.0", "1" * 5000, "1.5e3", "0x10"]),
)
# Documents that reach a String, an Int, a Boolean and an enum argument, anonymously or not.
TEMPLATES = [
    'mutation { login(email: %s, password: "x") { __typename } }',
    'mutation { login(email: "a@b.pe", password: %s) { __typename } }',
    "{ patients(search: %s) { totalCount } }",
    "{ patients(first: %s) { totalCount } }",
    "{ patients(orderBy: %s) { totalCount } }",
    "{ __typename @skip(if: %s) }",
    "query($v: String = %s) { patients(search: $v) { totalCount } }",
    "mutation { createChair(name: %s) { __typename } }",
]


@st.composite
def raw_documents(draw: Any) -> str:
    template = draw(st.sampled_from(TEMPLATES))
    literal = draw(
        st.one_of(graphql_strings, graphql_numbers, st.sampled_from(["true", "X", "$v", "[", "{}"]))
    )
    return template % literal


@st.composite
def json_texts(draw: Any, depth: int = 0) -> str:
    """JSON, or nearly: written by hand so that it can hold what json.dumps never writes."""
    scalars = st.one_of(
        st.sampled_from(['"x"', "1", "-0", "true", "null", "NaN", "Infinity", "-Infinity",
                         "1e999999", "1" * 5000, '"\\ud800"', '"\\udc00x"', '"\\u0000"',
                         '"\\uD83D\\uDE00"', '"\\x"', "01", "1.", '"\t"', "[", "}"]),
        string_bodies.map(lambda s: '"' + s.replace('"', "") + '"'),
        st.integers().map(str),
    )  # fmt: skip
    if depth > 3:
        return draw(scalars)
    kind = draw(st.sampled_from(["scalar", "list", "object", "object", "deep"]))
    if kind == "scalar":
        return draw(scalars)
    if kind == "deep":
        levels = draw(st.sampled_from([31, 32, 33, 900, 5000]))
        return "[" * levels + "]" * levels
    items = draw(st.lists(json_texts(depth + 1), max_size=3))
    if kind == "list":
        return "[" + ", ".join(items) + "]"
    keys = draw(st.lists(st.sampled_from(['"a"', '"a"', '"e"', '"\\u0000"', '"\\ud800"']), min_size=len(items), max_size=len(items)))  # fmt: skip
    return "{" + ", ".join(f"{k}: {v}" for k, v in zip(keys, items, strict=True)) + "}"


@st.composite
def raw_bodies(draw: Any) -> str:
    query = json.dumps(draw(raw_documents()))
    members = [f'"query": {query}']
    for name in draw(st.lists(st.sampled_from(["variables", "operationName", "extensions", "query"]), max_size=3)):  # fmt: skip
        members.append(f'"{name}": {draw(json_texts())}')
    body = "{" + ", ".join(members) + "}"
    return draw(st.one_of(st.just(body), json_texts()))


@hypothesis_settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(document=raw_documents(), anonymous=st.booleans())
def test_generated_documents_never_fail_the_server(
    client, clinic1, admin_token, document, anonymous
):
    headers = {} if anonymous else {"HTTP_AUTHORIZATION": f"Bearer {admin_token}"}
    response = send(client, "POST", json.dumps({"query": document}), "application/json", **headers)
    check(response.status_code, response["Content-Type"], response.content)


@hypothesis_settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=raw_bodies())
def test_generated_json_bodies_never_fail_the_server(client, clinic1, body):
    response = send(client, "POST", body, "application/json")
    payload = check(response.status_code, response["Content-Type"], response.content)
    if response.status_code >= 400:
        assert payload["errors"][0]["extensions"]["code"] in CODES


@hypothesis_settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    params=st.lists(
        st.tuples(
            st.sampled_from(["query", "variables", "operationName", "extensions", "x"]),
            st.one_of(raw_documents(), json_texts(), st.text(max_size=8)),
        ),
        max_size=4,
    ),
    raw=st.binary(max_size=6),
)
@example(params=[("query", "{ __typename }"), ("variables", '{"a": "\ud800"}')], raw=b"")
def test_generated_query_strings_never_fail_the_server(client, clinic1, params, raw):
    # A lone surrogate has no UTF-8 form: quote() would raise in the test itself. Its
    # surrogatepass bytes (invalid UTF-8) are exactly the hostile input the server must take.
    query_string = "&".join(
        f"{name}={quote(value, errors='surrogatepass')}" for name, value in params
    )
    query_string += "&x=" + "".join(f"%{byte:02X}" for byte in raw)
    response = send(client, "GET", query_string, "")
    check(response.status_code, response["Content-Type"], response.content)


@pytest.mark.slow
@hypothesis_settings(max_examples=40, deadline=None)
@given(body=raw_bodies())
def test_generated_json_bodies_never_fail_uvicorn(production_server, body):
    response = send_http(production_server, "POST", body, "application/json")
    check(response.status_code, response.headers.get("content-type", ""), response.content)

"""The GraphQL multipart request spec at the endpoint: files reach the operation, a bad map is a
coded 400 (never a 500), binary files are not text (NUL bytes are fine), and multipart bodies
have their own size limit (MAX_UPLOAD_BYTES), while JSON bodies keep the 256 KiB one."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import LiveServer
from tests.files.multipart import upload_graphql, upload_http

pytestmark = pytest.mark.django_db
HOST = "clinica1.localhost"
# The operation ignores the file; what is tested is the reading of the request around it.
QUERY = "query { __typename }"
BINARY = bytes(range(256)) * 8  # NUL bytes and every other byte value


def post(client: Client, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    kwargs.setdefault("files", {"file": ("scan.bin", BINARY, "application/octet-stream")})
    return upload_graphql(client, QUERY, host=HOST, **kwargs)


def refusal(answer: tuple[int, dict[str, Any]]) -> tuple[int, str]:
    status, body = answer
    return status, body["errors"][0]["extensions"]["code"]


def test_a_binary_file_with_nul_bytes_goes_through(client: Client) -> None:
    assert post(client) == (200, {"data": {"__typename": "Query"}})


def test_nul_in_the_operations_text_is_still_refused(client: Client) -> None:
    status, body = post(client, variables={"note": "a\u0000b"})
    assert status == 400
    assert "NUL" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        # The map names a file the request does not carry: an upload with no file.
        ({"raw_map": {"0": ["variables.file"]}, "raw_files": []}, (400, "FILE_MISSING")),
        # Two files for one field, in one part name.
        (
            {
                "raw_map": {"0": ["variables.file"]},
                "raw_files": [("0", ("a.png", b"a", "image/png")), ("0", ("b.png", b"b", "image/png"))],
            },
            (400, "TOO_MANY_FILES"),
        ),
        # Two files for one field, through two parts mapped to the same variable.
        (
            {
                "raw_map": {"0": ["variables.file"], "1": ["variables.file"]},
                "raw_files": [("0", ("a.png", b"a", "image/png")), ("1", ("b.png", b"b", "image/png"))],
            },
            (400, "TOO_MANY_FILES"),
        ),
        # A file that no variable takes.
        (
            {
                "raw_map": {"0": ["variables.file"]},
                "raw_files": [("0", ("a.png", b"a", "image/png")), ("9", ("b.png", b"b", "image/png"))],
            },
            (400, "TOO_MANY_FILES"),
        ),
        ({"raw_map": {"0": ["query"]}}, (400, "BAD_REQUEST")),
        ({"raw_map": {"0": ["variables.nothere"]}}, (400, "BAD_REQUEST")),
        ({"raw_map": {"0": ["variables.file.0.x"]}}, (400, "BAD_REQUEST")),
        ({"raw_map": {"0": "variables.file"}}, (400, "BAD_REQUEST")),
        ({"raw_map": ["variables.file"]}, (400, "BAD_REQUEST")),
        ({"raw_map": {"0": []}}, (400, "BAD_REQUEST")),
        # Unicode digits are digits to str.isdigit, not to int(): once a 500.
        ({"raw_map": {"0": ["variables.files.²"]}, "variables": {"files": [None]}}, (400, "BAD_REQUEST")),
        ({"raw_map": {"0": ["variables.files.١"]}, "variables": {"files": [None, None]}}, (400, "BAD_REQUEST")),
    ],
    ids=[
        "no-file", "two-files-one-part", "two-parts-one-variable", "stray-file",
        "outside-variables", "unknown-variable", "through-a-null", "path-not-a-list",
        "map-not-an-object", "empty-paths", "superscript-index", "arabic-index",
    ],
)  # fmt: skip
def test_bad_maps_are_coded_refusals(
    client: Client, kwargs: dict[str, Any], expected: tuple[int, str]
) -> None:
    assert refusal(post(client, **kwargs)) == expected


def test_a_variable_that_holds_a_value_cannot_take_a_file(client: Client) -> None:
    fields = {
        "operations": json.dumps({"query": QUERY, "variables": {"file": "already"}}),
        "map": json.dumps({"0": ["variables.file"]}),
    }
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        "/graphql", data={**fields, "0": SimpleUploadedFile("a.png", b"a")}, HTTP_HOST=HOST
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_FILES"


@pytest.mark.parametrize(
    "fields",
    [
        {"map": "{}"},  # no operations
        {"operations": "not json", "map": "{}"},
        {"operations": "[]", "map": "{}"},  # a batch
        {"operations": json.dumps({"query": QUERY}), "map": "{}"},  # no variables
        {"operations": json.dumps({"query": QUERY, "variables": {}})},  # no map
    ],
    ids=["no-operations", "bad-json", "batch", "no-variables", "no-map"],
)
def test_bad_operations_are_400s(client: Client, fields: dict[str, str]) -> None:
    response = client.post("/graphql", data=fields, HTTP_HOST=HOST)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_more_files_than_django_allows_is_coded(client: Client) -> None:
    many = [(str(i), ("f.bin", b"x", "application/octet-stream")) for i in range(11)]
    answer = post(client, raw_map={str(i): [f"variables.f{i}"] for i in range(11)}, raw_files=many)
    assert refusal(answer) == (400, "TOO_MANY_FILES")


# --- over real HTTP: the size limits ---------------------------------------------------------


def test_a_multipart_body_may_exceed_the_json_limit(uvicorn_server: LiveServer) -> None:
    big = b"\x00\xff" * (600 * 1024)  # 1.2 MB, NUL bytes included
    response = upload_http(
        uvicorn_server,
        QUERY,
        host=HOST,
        files={"file": ("big.bin", big, "application/octet-stream")},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"__typename": "Query"}}


def test_a_json_body_keeps_the_json_limit(uvicorn_server: LiveServer) -> None:
    padding = "x" * (settings.MAX_REQUEST_BYTES + 10)
    response = uvicorn_server.post(HOST, {"query": QUERY, "variables": {"p": padding}})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"


def test_a_multipart_body_over_the_upload_limit_is_refused_unread(
    uvicorn_server: LiveServer,
) -> None:
    """The declared length is over the limit: the answer comes before any of the body is sent."""
    limit = settings.MAX_UPLOAD_BYTES + settings.MAX_REQUEST_BYTES
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: {HOST}:{uvicorn_server.port}\r\n"
        f"Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: {limit + 1}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", uvicorn_server.port), timeout=10) as sock:
        sock.sendall(head.encode())
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413"), answer
    body = rest.partition(b"\r\n\r\n")[2]  # JSON, perhaps in chunks
    assert b'"code": "REQUEST_TOO_LARGE"' in body
    assert str(limit).encode() in body
    # Just under the limit is not refused for its size (this body is merely malformed).
    assert limit - 1 > settings.MAX_UPLOAD_BYTES

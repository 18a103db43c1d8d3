"""The request-size limit over a real uvicorn, whichever way the body comes (issue 12 review,
item 4).

Django's ASGI handler reads the whole body (spooled to disk, no limit) before any Django
middleware runs, so a ``Content-Length`` check alone misses a chunked body
(``Transfer-Encoding: chunked``, no length). ``backend.core.middleware.RequestBodyLimit``
counts the body as it arrives and, once it passes ``MAX_REQUEST_BYTES``, answers the 413
``REQUEST_TOO_LARGE`` of every other refusal (JSON, CORS headers, ``X-Request-ID``) and closes
the connection without reading the rest. Each case below proves the "without reading the
rest" part: the client sends (or offers) far more than the server takes, or never sends the
rest at all and still gets its answer.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator

import h11
import httpx
import pytest
from django.conf import settings

from tests.conftest import LiveServer

pytestmark = pytest.mark.slow

HOST = "clinica1.localhost"
ALLOWED_ORIGIN = "http://clinica1.localhost:3000"
REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")
CHUNK = 64 * 1024
# What a client offers: far more than the limit plus every buffer between it and the server
# (socket buffers on loopback grow to a few MiB).
OFFERED = 512 * 1024 * 1024
# What the server may have taken before it answered: the limit, plus those buffers.
TAKEN_AT_MOST = 32 * 1024 * 1024


def limit() -> int:
    return settings.MAX_REQUEST_BYTES


def endless_json(sent: list[int]) -> Iterator[bytes]:
    """A JSON body that never seems to end (``OFFERED`` bytes); ``sent`` counts what left."""
    head = b'{"query": "{ __typename }", "variables": {"padding": "'
    sent[0] += len(head)
    yield head
    while sent[0] < OFFERED:
        sent[0] += CHUNK
        yield b"x" * CHUNK


def assert_refused_as_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert REQUEST_ID.match(response.headers["x-request-id"])
    assert response.headers["connection"] == "close"


def test_a_chunked_body_over_the_limit_gets_413_without_being_read(uvicorn_server):
    sent = [0]
    started = time.monotonic()
    response = httpx.post(
        f"{uvicorn_server.url}/graphql",
        content=endless_json(sent),  # a generator: httpx sends it chunked
        headers={
            "Host": f"{HOST}:{uvicorn_server.port}",
            "Content-Type": "application/json",
            "Origin": ALLOWED_ORIGIN,
        },
        timeout=30,
    )
    elapsed = time.monotonic() - started

    assert_refused_as_too_large(response)
    assert limit() < sent[0] < TAKEN_AT_MOST, sent[0]
    assert elapsed < 10, elapsed


def raw_exchange(server: LiveServer, head: bytes, body: bytes, *, timeout: float = 10) -> bytes:
    """Send ``head`` and ``body`` on a socket and read the answer until the server closes
    (or ``timeout``); the client never sends anything more, nor ends the body."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(head + body)
        answer = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                break
            if not data:
                break
            answer += data
        return answer


def request_head(server: LiveServer, *headers: str) -> bytes:
    lines = [
        "POST /graphql HTTP/1.1",
        f"Host: {HOST}:{server.port}",
        "Content-Type: application/json",
        f"Origin: {ALLOWED_ORIGIN}",
        *headers,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunked(data: bytes) -> bytes:
    """``data`` as chunks of ``CHUNK`` bytes, without the last (empty) chunk."""
    return b"".join(
        b"%x\r\n%s\r\n" % (len(piece), piece)
        for piece in (data[i : i + CHUNK] for i in range(0, len(data), CHUNK))
    )


def parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    """The first response in ``answer``: status, headers, body."""
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method="POST", target="/graphql", headers=[("Host", HOST)]))
    conn.receive_data(answer)
    response = conn.next_event()
    assert isinstance(response, h11.Response), answer[:500]
    body = b""
    while not isinstance(event := conn.next_event(), h11.EndOfMessage):
        assert isinstance(event, h11.Data), (event, answer[:500])
        body += event.data
    headers = {name.decode(): value.decode() for name, value in response.headers}
    return response.status_code, headers, body


def assert_raw_refusal(answer: bytes) -> None:
    status, headers, body = parse(answer)
    assert status == 413, answer[:500]
    assert json.loads(body)["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    assert headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert REQUEST_ID.match(headers["x-request-id"])
    assert headers["connection"] == "close"


def test_a_chunked_body_is_answered_as_soon_as_it_passes_the_limit(uvicorn_server):
    """One byte over the limit, and the body never ends: the answer comes all the same."""
    answer = raw_exchange(
        uvicorn_server,
        request_head(uvicorn_server, "Transfer-Encoding: chunked"),
        chunked(b"x" * (limit() + 1)),
    )
    assert_raw_refusal(answer)


def test_a_declared_length_over_the_limit_is_answered_before_the_body(uvicorn_server):
    """``Content-Length`` says 1 GiB; the client sends a few bytes and waits for the answer."""
    answer = raw_exchange(
        uvicorn_server,
        request_head(uvicorn_server, f"Content-Length: {1024**3}"),
        b'{"query": "',
    )
    assert_raw_refusal(answer)


def test_a_small_content_length_does_not_hide_a_large_chunked_body(uvicorn_server):
    """A lying ``Content-Length`` (small) next to a chunked body that is not: what counts is
    the bytes that arrive. The server refuses them either as too large (413) or as a
    malformed request (400), and never reads the whole body."""
    answer = raw_exchange(
        uvicorn_server,
        request_head(uvicorn_server, "Content-Length: 20", "Transfer-Encoding: chunked"),
        chunked(b"x" * (limit() + 1)),
    )
    status = int(answer.split(b" ", 2)[1])
    assert status in (400, 413), answer[:500]
    if status == 413:
        assert_raw_refusal(answer)


def test_a_content_length_smaller_than_the_body_sent_reads_only_what_it_declared(
    uvicorn_server,
):
    """A lying ``Content-Length`` (small) with more bytes behind it: the request is what it
    declared; what follows is not read as its body (uvicorn takes it for the next request,
    which is malformed, answers 400 and closes)."""
    query = b'{"query": "{ __typename }"}'
    answer = raw_exchange(
        uvicorn_server,
        request_head(uvicorn_server, f"Content-Length: {len(query)}"),
        query + b"x" * (limit() + 1),
    )
    first, _, rest = answer.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200"), answer[:500]
    assert b'{"data":{"__typename":"Query"}}' in rest
    assert b"HTTP/1.1 400" in rest  # the extra bytes: no request at all


def test_a_chunked_body_under_the_limit_still_works(uvicorn_server):
    query = json.dumps({"query": "{ __typename }", "variables": {"pad": "x" * (limit() // 2)}})

    def pieces() -> Iterator[bytes]:
        data = query.encode()
        for i in range(0, len(data), 1000):
            yield data[i : i + 1000]

    response = httpx.post(
        f"{uvicorn_server.url}/graphql",
        content=pieces(),
        headers={"Host": f"{HOST}:{uvicorn_server.port}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 200, response.text[:300]
    assert response.json() == {"data": {"__typename": "Query"}}
    assert "connection" not in response.headers or response.headers["connection"] != "close"

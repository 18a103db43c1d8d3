"""A Python client against `scripts/dev` without editing /etc/hosts.

Browsers and curl resolve every `*.localhost` name to loopback (RFC 6761); Python's resolver
(getaddrinfo on a stock Linux) does not: `socket.gaierror: Name or service not known`.
Keep the clinic's real URL, so the Host header names the clinic, and resolve only the
connection: inside `localhost_resolution()`, `*.localhost` is 127.0.0.1 for every library
that connects through the socket module (urllib, http.client, requests, httpx).

    python docs/clients/python_localhost.py http://clinica1.localhost:8000/graphql \\
        reception@clinica1.localhost 'demo1234!'

Standard library only. It signs in, asks who it is, signs out, and prints each answer.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

_getaddrinfo = socket.getaddrinfo


def _is_localhost(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def _localhost_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    return _getaddrinfo("127.0.0.1" if _is_localhost(host) else host, *args, **kwargs)


@contextlib.contextmanager
def localhost_resolution() -> Iterator[None]:
    """`*.localhost` resolves to 127.0.0.1 while inside; other names as before."""
    socket.getaddrinfo = _localhost_getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = _getaddrinfo


def graphql(
    url: str, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> dict[str, Any]:
    """POST one operation; the JSON answer, whatever the HTTP status (errors carry codes)."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url}")
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.load(response)
    except urllib.error.HTTPError as error:  # 4xx/5xx still carry {"errors": [...]}
        return json.load(error)


LOGIN = """mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    __typename ... on AuthToken { token } ... on OperationInfo { messages { code message } }
  }
}"""


def main(url: str, email: str, password: str) -> int:
    with localhost_resolution():
        login = graphql(url, LOGIN, {"email": email, "password": password})["data"]["login"]
        if login["__typename"] != "AuthToken":
            print("login refused:", login["messages"])
            return 1
        token = login["token"]
        me = graphql(url, "{ me { email role } currentClinic { name } }", token=token)
        print("me:", json.dumps(me["data"], ensure_ascii=False))
        print("logout:", graphql(url, "mutation { logout }", token=token)["data"]["logout"])
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))

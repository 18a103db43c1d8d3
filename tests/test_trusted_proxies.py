"""The client's IP behind a reverse proxy (``TRUSTED_PROXIES``), over a real uvicorn.

Login throttling and the audit trail key on the client's IP. ``X-Forwarded-For`` names it
only when the peer is a trusted proxy: from anyone else it is ignored, so that no client can
spread its guesses over made-up addresses, nor pin its failures on somebody else's.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings

from backend.audit.models import AuditEvent
from backend.core.server_command import UvicornLaunch, trusted_proxies_parse
from backend.core.tenancy import clinic_context
from devtools.processes import free_port, serving
from tests.conftest import ROOT, LiveServer, child_env

pytestmark = pytest.mark.slow

LOGIN = (
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) {"
    " __typename ... on AuthToken { token } ... on OperationInfo { messages { code } } } }"
)


def _failed_login(server: LiveServer, host: str, email: str, forwarded_for: str) -> list[str]:
    """A wrong password, sent through a 'proxy' that says the client is ``forwarded_for``."""
    response = server.post(
        host,
        {"query": LOGIN, "variables": {"e": email, "p": "wrong"}},
        headers={"X-Forwarded-For": forwarded_for},
    )
    assert response.status_code == 200, response.text
    return [message["code"] for message in response.json()["data"]["login"]["messages"]]


@pytest.fixture
def served_by_manage_py(django_db_blocker) -> Iterator[Any]:
    """``serve(**env)``: uvicorn started by ``manage.py serve``, the Dockerfile's command, so
    that TRUSTED_PROXIES goes the way production reads it (settings, then the command line)."""
    with contextlib.ExitStack() as running:

        def serve(**env: str) -> LiveServer:
            with django_db_blocker.unblock():
                environment = child_env(**env)
            server = LiveServer(free_port())
            process = subprocess.Popen(
                [sys.executable, "manage.py", "serve", "--port", str(server.port)],
                cwd=ROOT, env=environment,
            )  # fmt: skip
            running.enter_context(
                serving(
                    process,
                    lambda: (
                        server.request("GET", "/healthz", settings.BASE_DOMAIN).status_code == 200
                    ),
                    timeout=60,
                    what="manage.py serve",
                    not_yet=(httpx.TransportError,),
                )
            )
            return server

        yield serve


def _audited_ips(clinic: Any, action: str) -> list[str | None]:
    with clinic_context(clinic):
        return list(
            AuditEvent.objects.filter(action=action).order_by("id").values_list("ip", flat=True)
        )


def test_forwarded_for_from_an_untrusted_peer_changes_nothing(
    uvicorn_server, committed_clinic, django_db_blocker
):
    """The suite's uvicorn trusts no proxy (the default): five failures, each claiming to
    come from another address, are five failures from this one client."""
    clinic = committed_clinic("sinproxy")
    host = f"sinproxy.{settings.BASE_DOMAIN}"
    email = "admin@sinproxy.pe"

    for number in range(1, 6):
        assert _failed_login(uvicorn_server, host, email, f"203.0.113.{number}") == [
            "INVALID_CREDENTIALS"
        ]
    assert _failed_login(uvicorn_server, host, email, "203.0.113.99") == ["LOGIN_THROTTLED"]

    with django_db_blocker.unblock():
        assert set(_audited_ips(clinic, "auth.login_failed")) == {"127.0.0.1"}


def test_forwarded_for_from_a_trusted_proxy_is_the_clients_ip(
    served_by_manage_py, committed_clinic, django_db_blocker
):
    clinic = committed_clinic("conproxy")
    host = f"conproxy.{settings.BASE_DOMAIN}"
    email = "admin@conproxy.pe"
    server = served_by_manage_py(TRUSTED_PROXIES="127.0.0.1")

    for _ in range(5):
        assert _failed_login(server, host, email, "203.0.113.7") == ["INVALID_CREDENTIALS"]
    assert _failed_login(server, host, email, "203.0.113.7") == ["LOGIN_THROTTLED"]
    # Another client behind the same proxy is counted apart.
    assert _failed_login(server, host, email, "203.0.113.8") == ["INVALID_CREDENTIALS"]
    # The proxy appends the peer it saw; what the client wrote before that is not believed.
    assert _failed_login(server, host, email, "198.51.100.1, 203.0.113.9") == [
        "INVALID_CREDENTIALS"
    ]

    with django_db_blocker.unblock():
        assert _audited_ips(clinic, "auth.login_failed") == [
            *["203.0.113.7"] * 5,
            "203.0.113.8",
            "203.0.113.9",
        ]
        assert _audited_ips(clinic, "auth.login_throttled") == ["203.0.113.7"]


def test_a_forwarded_value_that_is_not_an_ip_is_not_recorded_as_one(
    served_by_manage_py, committed_clinic, django_db_blocker
):
    """A trusted proxy that passes on whatever the client wrote: the value is no address, so
    the request has none (never a 500 from the database's inet column)."""
    clinic = committed_clinic("proxyroto")
    server = served_by_manage_py(TRUSTED_PROXIES="127.0.0.1")

    codes = _failed_login(server, f"proxyroto.{settings.BASE_DOMAIN}", "x@proxyroto.pe", "evil")

    assert codes == ["INVALID_CREDENTIALS"]
    with django_db_blocker.unblock():
        assert _audited_ips(clinic, "auth.login_failed") == [None]


# --- the setting and the command line -------------------------------------------------------


def test_trusted_proxies_are_ip_addresses_and_networks():
    assert trusted_proxies_parse("") == []
    assert trusted_proxies_parse(" 10.1.2.3/8, 127.0.0.1 ,::1, 192.168.0.7/32,") == [
        "10.0.0.0/8",
        "127.0.0.1",
        "::1",
        "192.168.0.7",
    ]
    for bad in ["proxy.internal", "*", "10.0.0.0/33", "127.0.0.1:8080"]:
        with pytest.raises(ValueError, match="not an IP address or network"):
            trusted_proxies_parse(bad)


def test_a_bad_trusted_proxies_setting_stops_the_start(django_db_blocker):
    with django_db_blocker.unblock():
        environment = child_env(TRUSTED_PROXIES="10.0.0.1,proxy.internal")
    result = subprocess.run(
        [sys.executable, "manage.py", "serve", "--port", str(free_port())],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "TRUSTED_PROXIES: 'proxy.internal' is not an IP address or network" in result.stderr


def test_uvicorn_trusts_exactly_the_proxies_given():
    none = UvicornLaunch(trusted_proxies=(), port=8000).args()
    assert "--no-proxy-headers" in none
    assert not [arg for arg in none if arg.startswith("--forwarded-allow-ips")]

    some = UvicornLaunch(trusted_proxies=["10.0.0.0/8", "127.0.0.1"], port=8000).args()
    assert "--proxy-headers" in some
    assert some[some.index("--forwarded-allow-ips") + 1] == "10.0.0.0/8,127.0.0.1"


LAUNCHERS = [
    "Dockerfile",
    "docker-compose.yml",
    "scripts",
    "backend",
    "tests",
    "tenants_core",
    "graphql_api",
    "devtools",
    "benchmarks",
]


def test_every_launch_of_uvicorn_goes_through_one_command_line():
    """uvicorn's own default trusts X-Forwarded-For from 127.0.0.1: a launch that builds its
    own command line (or calls uvicorn.run) would bring that back."""
    spelled_out = ('"uvicorn", "backend.asgi', "uvicorn backend.asgi", "uvicorn.run(")
    allowed = {ROOT / "backend/core/server_command.py", Path(__file__)}
    found = []
    for name in LAUNCHERS:
        top = ROOT / name
        for path in [top] if top.is_file() else sorted(top.rglob("*")):
            if path.is_file() and path.suffix in {"", ".py", ".sh", ".yml"} and path not in allowed:
                text = path.read_text(errors="replace")
                found += [f"{path}: {s}" for s in spelled_out if s in text]
    assert found == []

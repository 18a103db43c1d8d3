"""docs/clients/python_localhost.py: a Python client reaches a clinic by its `*.localhost`
name without /etc/hosts, against the real server."""

from __future__ import annotations

import socket
import subprocess
import sys

from tests.clients.conftest import KitWorld
from tests.conftest import ROOT, LiveServer
from tests.factories import TEST_PASSWORD

SNIPPET = ROOT / "docs" / "clients" / "python_localhost.py"


def test_python_snippet_signs_in_by_the_clinic_name(
    kit_world: KitWorld, persisted_server: LiveServer
) -> None:
    result = subprocess.run(
        [sys.executable, str(SNIPPET), kit_world.url(persisted_server),
         kit_world.reception_email, TEST_PASSWORD],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f'"email": "{kit_world.reception_email}"' in result.stdout
    assert '"name": "Kit Desk 1"' in result.stdout
    assert "logout: True" in result.stdout


def test_python_snippet_resolves_only_inside_its_context() -> None:
    sys.path.insert(0, str(SNIPPET.parent))
    try:
        import python_localhost  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(SNIPPET.parent))
    with python_localhost.localhost_resolution():
        addresses = {info[4][0] for info in socket.getaddrinfo("clinica1.localhost", 80)}
        assert addresses == {"127.0.0.1"}
    assert socket.getaddrinfo is python_localhost._getaddrinfo

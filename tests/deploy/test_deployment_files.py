"""The deployment files say what docs/deploy.md promises. Docker is not on the CI machines, so
these read the files as Docker and Compose would; the behaviour behind them (one migration
run, TLS through Caddy, graceful shutdown, the wheel's contents) has tests of its own."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from backend.core.server_command import ServerLimits
from tests.test_packaging import _lock_entries

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "app", "worker")  # built from this repository's Dockerfile


class _Reset:
    """Compose's ``!reset`` tag: the override clears the base file's value."""


class _ComposeLoader(yaml.SafeLoader):
    pass


_ComposeLoader.add_constructor("!reset", lambda loader, node: _Reset())


def _load(name: str) -> dict[str, Any]:
    return yaml.load((ROOT / name).read_text(), Loader=_ComposeLoader)  # noqa: S506


def _merge(base: Any, override: Any) -> Any:
    """``docker compose -f base -f override``, for what these files use: mappings merge key by
    key, anything else is replaced, ``!reset`` removes."""
    if isinstance(override, _Reset):
        return None
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base.get(key), value)
            if merged[key] is None and isinstance(value, _Reset):
                del merged[key]
        return merged
    return override


@pytest.fixture(scope="module")
def local() -> dict[str, Any]:
    return _load("docker-compose.yml")


@pytest.fixture(scope="module")
def production(local: dict[str, Any]) -> dict[str, Any]:
    return _merge(local, _load("docker-compose.prod.yml"))


def _dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_image_is_reproducible():
    instructions = _dockerfile()
    (base,) = [args for name, args in instructions if name == "ARG" and "PYTHON_IMAGE" in args]
    image = base.split("=", 1)[1]
    # An exact Python release on a named Debian release: never `3.13-slim` or `latest`.
    assert re.fullmatch(
        r"python:3\.1[1-3]\.\d+-slim-(bookworm|trixie)(@sha256:[0-9a-f]{64})?", image
    )
    assert all(args.startswith("${PYTHON_IMAGE}") for name, args in instructions if name == "FROM")
    runs = " ".join(args for name, args in instructions if name == "RUN")
    assert "--require-hashes" in runs
    assert "requirements.lock" in runs
    assert "--no-build-isolation" in runs  # built by the lock's setuptools, not a fresh one
    assert "constraints.txt" not in runs


def test_the_image_runs_the_server_as_pid_1_not_a_shell_and_never_migrates():
    instructions = _dockerfile()
    (cmd,) = [args for name, args in instructions if name == "CMD"]
    command = json.loads(cmd)  # the exec form: no shell in between
    assert command[:3] == ["python", "manage.py", "serve"]
    assert "migrate" not in cmd
    users = [args for name, args in instructions if name == "USER"]
    assert users
    assert users[-1] not in ("root", "0")


def test_the_build_context_lets_in_only_what_the_image_copies():
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"  # everything out, then each thing the build needs back in
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    copied = set()
    for name, args in _dockerfile():
        if name == "COPY" and not args.startswith("--from"):
            copied.update(part.rstrip("/") for part in shlex.split(args)[:-1])
    assert copied <= allowed, f"COPY of files .dockerignore leaves out: {copied - allowed}"
    for secret_or_bulk in (".venv", ".data", ".env", ".git", "tests", "benchmarks", "docs"):
        assert secret_or_bulk not in allowed
    for name in copied:
        assert (ROOT / name).exists(), name


def test_the_lock_holds_the_build_backend_the_image_builds_with():
    assert "setuptools" in _lock_entries()


def test_migrations_run_once_before_any_app_or_worker_starts(local: dict[str, Any]):
    services = local["services"]
    migrate = services["migrate"]
    assert migrate["command"][:3] == ["python", "manage.py", "migrate_schemas"]
    assert migrate["restart"] == "no"  # a one-shot: it must end for the others to start
    for name in ("app", "worker"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert "migrate" not in json.dumps(services[name].get("command", ""))
    assert "migrate" not in services["migrate"]["depends_on"]


def test_every_service_restarts_stops_gracefully_and_runs_no_shell(
    local: dict[str, Any], production: dict[str, Any]
):
    for stack in (local, production):
        for name, service in stack["services"].items():
            assert service.get("restart") in ("unless-stopped", "always", "no"), name
            if name != "migrate":
                assert service.get("restart") != "no", name
                assert "stop_grace_period" in service, name
            command = service.get("command", [])
            assert isinstance(command, list), f"{name}: the exec form, no shell"
            assert "sh" not in command[:1], name
        for name in APP_SERVICES:
            assert stack["services"][name]["init"] is True, name


def test_every_image_is_an_exact_release(production: dict[str, Any]):
    for name, service in production["services"].items():
        if name in APP_SERVICES:
            assert service["build"] == "."
            continue
        image = service["image"]
        # A release with its minor (PostgreSQL's) or patch (Caddy's) number, never `latest`
        # nor a bare major.
        exact = r"[a-z0-9/.-]+:\d+\.\d+(\.\d+)?(-[a-z0-9]+)?(@sha256:[0-9a-f]{64})?"
        assert re.fullmatch(exact, image), image


def test_in_production_only_the_proxy_is_published_and_only_it_is_trusted(
    production: dict[str, Any],
):
    services = production["services"]
    published = sorted(name for name, service in services.items() if service.get("ports"))
    assert published == ["caddy"]
    proxy_ip = services["caddy"]["networks"]["default"]["ipv4_address"]
    assert services["app"]["environment"]["TRUSTED_PROXIES"] == proxy_ip
    # The fixed address lies in the network's fixed subnet (its default values).
    subnet = production["networks"]["default"]["ipam"]["config"][0]["subnet"]
    default = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", f"{proxy_ip} {subnet}").split()
    import ipaddress

    assert ipaddress.ip_address(default[0]) in ipaddress.ip_network(default[1])
    caddy = services["caddy"]
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert any(volume.endswith(":/data") for volume in caddy["volumes"])  # certificates kept


def test_the_proxy_image_is_the_caddy_the_tests_run(production: dict[str, Any]):
    import subprocess
    import sys

    image_version = production["services"]["caddy"]["image"].split(":")[1].split("-")[0]
    caddy = Path(sys.executable).parent / "caddy"
    version = subprocess.run([caddy, "version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith(f"v{image_version} "), version.stdout


def test_data_that_must_survive_a_redeploy_is_on_volumes(local: dict[str, Any]):
    app = local["services"]["app"]
    mounts = {volume.split(":")[1] for volume in app["volumes"]}
    assert {"/data", "/backups"} <= mounts  # uploaded files (MEDIA_ROOT) and backups
    assert any(v.endswith(":/var/lib/postgresql") for v in local["services"]["db"]["volumes"])
    secrets = local["x-app"]["environment"]
    for name in ("SECRET_KEY", "BACKUP_ENCRYPTION_KEYS"):
        assert ":?" in secrets[name], f"{name} must be required, never defaulted"
    assert secrets["DEBUG"] == "0"


def test_requests_and_jobs_in_flight_get_their_time_before_docker_kills_them(
    production: dict[str, Any],
):
    """Docker sends SIGKILL stop_grace_period after SIGTERM: it must outlast the app's own
    graceful shutdown, and Caddy's."""
    defaults = ServerLimits()  # compose leaves the WEB_* variables at their defaults

    def seconds(value: str) -> int:
        assert value.endswith("s"), value
        return int(value[:-1])

    services = production["services"]
    assert seconds(services["app"]["stop_grace_period"]) > defaults.graceful_shutdown_seconds
    caddyfile = (ROOT / "Caddyfile").read_text()
    (grace,) = re.findall(r"^\s*grace_period (\d+)s$", caddyfile, re.MULTILINE)
    assert seconds(services["caddy"]["stop_grace_period"]) > int(grace)
    # Caddy drops idle connections to the app before uvicorn does (WEB_KEEP_ALIVE_SECONDS).
    (keepalive,) = re.findall(r"^\s*keepalive (\d+)s$", caddyfile, re.MULTILINE)
    assert int(keepalive) < defaults.keep_alive_seconds


def test_the_worker_runs_the_apps_image_and_settings(local: dict[str, Any]):
    """docs/jobs.md: a worker is the app's image with the app's environment, started once the
    database is healthy and the migration has run (the queue's tables are migrated too)."""
    services = local["services"]
    app, worker = services["app"], services["worker"]
    assert worker["command"] == ["python", "manage.py", "worker"]
    assert worker["build"] == app["build"] == "."
    assert worker["environment"] == app["environment"]
    assert worker["volumes"] == app["volumes"]  # backups and files, where the app has them
    assert worker["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert worker["restart"] == "unless-stopped"

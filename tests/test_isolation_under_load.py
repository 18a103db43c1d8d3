"""Isolation under real load: uvicorn with 2 workers (DEBUG off), 20 clinics, thousands of
interleaved concurrent requests, connected straight to PostgreSQL, through PgBouncer in session
mode, and through PgBouncer in transaction mode with ``server_round_robin = 1`` (consecutive
transactions of one client land on different server connections) and fewer server connections
than concurrent requests. No response ever carries another clinic's row, and no token ever
works on another clinic's domain."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import random
import time

import httpx
import pytest

from backend.core.tenancy import clinic_context
from backend.patients.models import Patient
from tests.conftest import http_login, production_like_env, running_uvicorn
from tests.pgbouncer_support import running_pgbouncer

pytestmark = pytest.mark.slow

CLINICS = 20
REQUESTS = int(os.environ.get("ISOLATION_REQUESTS", "5000"))
TIME_LIMIT = 300  # seconds: the run stops by itself
QUERY = "{ currentClinic { subdomain } me { email } patients(first: 3) { edges { node { lastName documentNumber } } } }"


@pytest.mark.parametrize("route", ["direct", "pgbouncer-session", "pgbouncer-transaction"])
def test_no_response_ever_carries_another_clinics_data(django_db_blocker, committed_clinic, route):
    names = [f"aislada{i:02d}" for i in range(CLINICS)]
    for index, name in enumerate(names):
        clinic = committed_clinic(name, plan="basic")
        with django_db_blocker.unblock(), clinic_context(clinic):
            Patient.objects.create(
                first_name="Marca",
                last_name=f"MARK-{name}",
                document_type="DNI",
                document_number=f"{70000000 + index}",
            )
    production_like = production_like_env()
    with contextlib.ExitStack() as stack:
        pool = None
        if route.startswith("pgbouncer-"):
            # Fewer server connections than concurrent requests: clients queue in the pool.
            mode = route.removeprefix("pgbouncer-")
            pool = stack.enter_context(
                running_pgbouncer(django_db_blocker, mode, round_robin=mode == "transaction")
            )
            production_like["DATABASE_URL"] = pool.database_url()
        server = stack.enter_context(
            running_uvicorn(django_db_blocker, workers=2, env=production_like)
        )
        tokens = {
            name: http_login(server, f"{name}.localhost", f"admin@{name}.pe")["token"]
            for name in names
        }
        rng = random.Random(2026)
        plan = []
        for _ in range(REQUESTS):
            host, owner = rng.choice(names), rng.choice(names)
            if rng.random() < 0.8:
                owner = host  # mostly legitimate traffic, interleaved with cross-clinic attempts
            plan.append((host, owner))
        started = time.monotonic()

        # One client, 16 kept-alive connections shared by the 16 threads: consecutive requests
        # on one connection go to different clinics. (httpx.post builds a client per call,
        # about 45 ms of CPU, more than the request costs the server: it made the load
        # generator, not the server, the bottleneck.)
        http = stack.enter_context(
            httpx.Client(
                base_url=server.url,
                timeout=10,
                limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
            )
        )

        def call(step):
            host, owner = step
            if time.monotonic() - started > TIME_LIMIT:
                return host, owner, None
            response = http.post(
                "/graphql",
                json={"query": QUERY},
                headers={
                    "Host": f"{host}.localhost:{server.port}",
                    "Authorization": f"Bearer {tokens[owner]}",
                },
            )
            return host, owner, response

        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as clients:
            results = list(clients.map(call, plan))
        pooled_transactions = None
        if pool is not None:
            stats = {row["database"]: row for row in pool.admin("SHOW STATS")}
            pooled_transactions = stats[pool.database]["total_xact_count"]

    done = [r for r in results if r[2] is not None]
    leaks, wrong_auth = [], []
    for host, owner, response in done:
        assert response.status_code == 200, response.text
        body = response.json()
        text = response.text
        others = [
            name
            for name in names
            if name != host and (f"MARK-{name}" in text or f"@{name}.pe" in text)
        ]
        if others:
            leaks.append((host, owner, others))
        if host == owner:
            data = body["data"]
            assert data["currentClinic"]["subdomain"] == host
            assert data["me"]["email"] == f"admin@{host}.pe"
            assert [e["node"]["lastName"] for e in data["patients"]["edges"]] == [f"MARK-{host}"]
        elif (body.get("data") or {}).get("me"):
            wrong_auth.append((host, owner))
        else:
            assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert not leaks, leaks[:5]
    assert not wrong_auth, wrong_auth[:5]
    assert len(done) == REQUESTS, f"only {len(done)} of {REQUESTS} requests within {TIME_LIMIT}s"
    if pool is not None:
        # The traffic really went through PgBouncer: at least one transaction a request.
        assert pooled_transactions is not None
        assert pooled_transactions >= REQUESTS

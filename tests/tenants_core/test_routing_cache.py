"""Host → clinic routing from the per-process cache (tenants_core.routing): no SQL once warm,
at most one SET search_path per request, and every change to a clinic, its domains or its plan
seen at once in this process and within a second in every other one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from backend.accounts.models import User
from backend.core.tenancy import clinic_context
from tenants_core import routing
from tenants_core.models import Clinic, Domain
from tenants_core.services import (
    clinic_domain_add,
    clinic_plan_change,
    clinic_reactivate,
    clinic_suspend,
)
from tests.conftest import (
    LiveServer,
    error_code,
    graphql,
    http_login,
    production_like_env,
    running_uvicorn,
)

ME = "{ me { email } currentClinic { subdomain } }"
CLINIC = "{ currentClinic { subdomain status plan { code } maxPatients } }"


def classify(captured: CaptureQueriesContext) -> dict[str, int]:
    """Statements of one request: routing lookups, the transaction's schema selection
    (``set_config('search_path', …, true)``), and the rest."""
    kinds = {"routing": 0, "set": 0, "other": 0}
    for query in captured.captured_queries:
        sql = query["sql"]
        if sql.startswith("SELECT set_config('search_path'"):
            kinds["set"] += 1
        elif "tenants_core_routing_version" in sql or "tenants_core_domain" in sql:
            kinds["routing"] += 1
        else:
            kinds["other"] += 1
    return kinds


def measured(request: Callable[[], Any]) -> tuple[Any, dict[str, int]]:
    with CaptureQueriesContext(connection) as captured:
        result = request()
    return result, classify(captured)


@pytest.fixture
def me(client: Any, clinic1: Clinic, admin_token: str) -> Callable[..., tuple[int, dict]]:
    def ask(host: str = "clinica1.localhost", token: str = admin_token) -> tuple[int, dict]:
        return graphql(client, ME, host=host, token=token)

    return ask


def test_a_warm_request_resolves_its_clinic_without_sql(me):
    (status, body), cold = measured(me)
    assert status == 200, body
    assert body["data"]["me"]["email"] == "admin@clinica1.pe"
    # Cold: one lookup (domain + clinic + plan + version), then the transaction's schema, then
    # the token.
    assert cold == {"routing": 1, "set": 1, "other": 1}

    (status, body), warm = measured(me)
    assert status == 200, body
    assert body["data"]["me"]["email"] == "admin@clinica1.pe"
    assert warm == {"routing": 0, "set": 1, "other": 1}


def test_each_request_sets_its_clinics_schema_once_inside_its_transaction(
    me, clinic2, make_staff, token_for
):
    """The schema is the transaction's, never the connection's: a request on a connection
    that served the same clinic just before sets it again, exactly once, and so does one for
    another clinic (the cost of being correct behind a transaction pool)."""
    clinic2_token = token_for(clinic2, make_staff(clinic2))
    me()
    _, again = measured(me)
    assert again == {"routing": 0, "set": 1, "other": 1}
    (_, body), other = measured(lambda: me("clinica2.localhost", clinic2_token))
    assert body["data"]["currentClinic"]["subdomain"] == "clinica2", body
    assert other == {"routing": 1, "set": 1, "other": 1}
    _, back = measured(me)
    assert back == {"routing": 0, "set": 1, "other": 1}


def test_a_request_that_needs_no_statement_costs_none_once_warm(client, db):
    graphql(client, CLINIC, host="clinica2.localhost")
    with CaptureQueriesContext(connection) as captured:
        status, body = graphql(client, CLINIC, host="clinica2.localhost")
    assert status == 200
    assert body["data"]["currentClinic"]["plan"]["code"] == "BASIC"
    assert captured.captured_queries == []


def test_unknown_hosts_are_cached_too_until_routing_changes(client, clinic2, db):
    def ask() -> tuple[int, dict]:
        return graphql(client, CLINIC, host="nueva.localhost")

    (status, body), cold = measured(ask)
    assert (status, error_code(body)) == (404, "UNKNOWN_HOST"), body
    assert cold == {"routing": 1, "set": 0, "other": 0}
    (status, _), warm = measured(ask)
    assert status == 404
    assert warm == {"routing": 0, "set": 0, "other": 0}

    clinic_domain_add(actor=None, clinic=clinic2, domain="nueva.localhost")
    status, body = ask()
    assert status == 200, body
    assert body["data"]["currentClinic"]["subdomain"] == "clinica2"


def test_suspending_and_reactivating_take_effect_on_the_next_request(me, clinic1):
    assert me()[0] == 200
    clinic_suspend(actor=None, clinic=clinic1, reason="Pago pendiente")
    status, body = me()
    assert (status, error_code(body)) == (403, "CLINIC_SUSPENDED")
    clinic_reactivate(actor=None, clinic=clinic1)
    assert me()[0] == 200


def test_a_plan_change_takes_effect_on_the_next_request(client, clinic2):
    _, body = graphql(client, CLINIC, host="clinica2.localhost")
    assert body["data"]["currentClinic"]["plan"]["code"] == "BASIC"
    clinic_plan_change(actor=None, clinic=clinic2, plan="enterprise")
    _, body = graphql(client, CLINIC, host="clinica2.localhost")
    assert body["data"]["currentClinic"]["plan"]["code"] == "ENTERPRISE"
    assert (
        body["data"]["currentClinic"]["maxPatients"]
        == clinic2.plan.__class__.objects.get(code="enterprise").max_patients
    )


def test_a_change_no_service_made_waits_for_the_version_check(client, clinic2, settings):
    """A write that bypasses the services (SQL, another process) is seen through the version
    row, at the next check; until then this process keeps answering from its cache."""
    graphql(client, CLINIC, host="clinica2.localhost")
    Domain.objects.filter(tenant=clinic2).delete()
    status, _ = graphql(client, CLINIC, host="clinica2.localhost")
    assert status == 200  # cached: no check due (the test suite turns the timed check off)

    settings.TENANT_CACHE_CHECK_SECONDS = 0
    (status, body), checked = measured(lambda: graphql(client, CLINIC, host="clinica2.localhost"))
    assert (status, error_code(body)) == (404, "UNKNOWN_HOST")
    assert checked["routing"] == 2  # the version row, then the lookup it made necessary


def test_a_version_check_that_finds_nothing_new_costs_one_statement(client, db, settings):
    graphql(client, CLINIC, host="clinica2.localhost")
    settings.TENANT_CACHE_CHECK_SECONDS = 0
    (status, _), checked = measured(lambda: graphql(client, CLINIC, host="clinica2.localhost"))
    assert status == 200
    assert checked == {"routing": 1, "set": 0, "other": 0}


def test_a_rolled_back_change_does_not_outlive_its_transaction(client, clinic2, settings):
    settings.TENANT_CACHE_CHECK_SECONDS = 0
    assert graphql(client, CLINIC, host="clinica2.localhost")[0] == 200
    with transaction.atomic():
        Clinic.objects.filter(pk=clinic2.pk).update(status="suspended")
        assert graphql(client, CLINIC, host="clinica2.localhost")[0] == 403
        transaction.set_rollback(True)
    assert graphql(client, CLINIC, host="clinica2.localhost")[0] == 200


def test_every_request_gets_its_own_clinic_instance(clinic1):
    first = routing.resolve("clinica1.localhost")
    second = routing.resolve("clinica1.localhost")
    assert first is second  # one snapshot, cached
    a, b = first.clinic(), first.clinic()
    assert a is not b
    assert a.plan is not b.plan
    a.name = "cambiado"
    a.plan.max_patients = 1
    assert b.name == clinic1.name
    assert b.plan.max_patients == clinic1.plan.max_patients
    assert first.clinic().name == clinic1.name
    with pytest.raises(AttributeError):
        first.clinic_values = ()  # type: ignore[misc]


def test_the_cache_is_bounded(db, settings):
    settings.TENANT_CACHE_SIZE = 2
    settings.TENANT_CACHE_NEGATIVE_SIZE = 1
    for host in ("clinica1.localhost", "clinica2.localhost", "cerrada.localhost"):
        routing.resolve(host)
    for host in ("a.localhost", "b.localhost"):
        routing.resolve(host)
    assert len(routing.cache) == 3
    # The least recently used clinic host went first: asking again costs one lookup.
    with CaptureQueriesContext(connection) as captured:
        routing.resolve("cerrada.localhost")
        routing.resolve("clinica2.localhost")
    assert len(captured) == 0
    with CaptureQueriesContext(connection) as captured:
        routing.resolve("clinica1.localhost")
    assert len(captured) == 1


def test_interleaved_hosts_never_get_each_others_clinic(client, clinic1, clinic2, admin_token):
    with clinic_context(clinic2):
        user = User.objects.get(email="admin@clinica2.pe")
    from backend.accounts.auth import _token_issue

    with clinic_context(clinic2):
        clinic2_token = _token_issue(user).raw
    asks = [
        ("clinica1.localhost", admin_token, "clinica1", "admin@clinica1.pe"),
        ("clinica2.localhost", clinic2_token, "clinica2", "admin@clinica2.pe"),
    ]
    for _ in range(5):
        for host, token, subdomain, email in asks:
            status, body = graphql(client, ME, host=host, token=token)
            assert status == 200, body
            assert body["data"] == {
                "me": {"email": email},
                "currentClinic": {"subdomain": subdomain},
            }


def test_concurrent_threads_each_get_their_own_hosts_clinic(settings, django_db_blocker):
    """Threads resolving, evicting (a cache of 2 for 3 hosts) and invalidating at once: every
    answer is the asked host's clinic, a fresh instance."""
    settings.TENANT_CACHE_SIZE = 2
    settings.TENANT_CACHE_CHECK_SECONDS = 0.001
    hosts = {"clinica1.localhost": "clinica1", "clinica2.localhost": "clinica2"}
    hosts["cerrada.localhost"] = "cerrada"
    wrong: list[Any] = []
    seen: list[int] = []
    stop = threading.Event()

    def ask(offset: int) -> None:
        try:
            names = list(hosts)
            for step in range(150):
                host = names[(step + offset) % len(names)]
                clinic = routing.resolve(host).clinic()
                seen.append(id(clinic))
                if clinic.subdomain != hosts[host] or clinic.schema_name != f"clinic_{hosts[host]}":
                    wrong.append((host, clinic.subdomain))
        finally:
            connection.close()

    def invalidate() -> None:
        while not stop.is_set():
            routing.invalidate()
            time.sleep(0.001)

    with django_db_blocker.unblock():  # the seeded clinics, committed; each thread connects
        invalidator = threading.Thread(target=invalidate)
        invalidator.start()
        threads = [threading.Thread(target=ask, args=(offset,)) for offset in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        stop.set()
        invalidator.join(timeout=10)
    assert not wrong, wrong[:5]
    assert len(seen) == 6 * 150


# --- across processes: uvicorn with 2 workers, each with its own cache -------------------


def _converges(
    server: LiveServer, host: str, changed: Callable[[], float], seen: Callable[[Any], bool]
) -> tuple[float, int]:
    """Make the change (``changed`` returns a time just after its commit), then ask ``host``
    over fresh connections for 2 seconds. Every answer to a request sent more than 1 second
    after the commit must show it. Returns the time from the commit to the last request
    whose answer did not show it, and how many requests were sent after the deadline."""
    sent = changed()
    stale_until, checked_after_a_second = 0.0, 0
    while time.monotonic() < sent + 2.0:
        started = time.monotonic()
        response = server.post(host, {"query": CLINIC})
        if started >= sent + 1.0:
            checked_after_a_second += 1
        if not seen(response):
            stale_until = started - sent
            assert started < sent + 1.0, (
                f"still stale {started - sent:.3f}s after the change: {response.text}"
            )
    return stale_until, checked_after_a_second


def _warm(server: LiveServer, host: str, expect: Callable[[Any], bool]) -> None:
    # Fresh connections, so that both workers get some of them.
    for _ in range(30):
        assert expect(server.post(host, {"query": CLINIC}))


def _status(response: Any) -> int:
    return response.status_code


def _plan(response: Any) -> str | None:
    if response.status_code != 200:
        return None
    return response.json()["data"]["currentClinic"]["plan"]["code"]


@pytest.mark.slow
def test_every_worker_refuses_a_suspended_clinic_within_a_second(
    django_db_blocker, committed_clinic
):
    """The change is committed by this process, so neither worker hears of it but through
    the version row; its commit time is known to within the service call."""
    clinic = committed_clinic("rutas", plan="basic")
    host = "rutas.localhost"

    def committed(service: Callable[..., Any], **arguments: Any) -> Callable[[], float]:
        def run() -> float:
            with django_db_blocker.unblock():
                service(actor=None, clinic=clinic, **arguments)
            return time.monotonic()  # the commit happened just before the service returned

        return run

    with running_uvicorn(django_db_blocker, workers=2, env=production_like_env()) as server:
        _warm(server, host, lambda r: _status(r) == 200 and _plan(r) == "BASIC")
        suspended = _converges(
            server, host, committed(clinic_suspend, reason="Pago pendiente"), _refused
        )
        reactivated = _converges(server, host, committed(clinic_reactivate), _answered)
        _warm(server, host, lambda r: _plan(r) == "BASIC")
        planned = _converges(
            server,
            host,
            committed(clinic_plan_change, plan="enterprise"),
            lambda r: _plan(r) == "ENTERPRISE",
        )
    for stale_for, checked_after_a_second in (suspended, reactivated, planned):
        assert checked_after_a_second >= 5, "too few requests after the deadline to show it"
        assert stale_for < 1.0
    print(f"\nstale for at most: suspend {suspended}, reactivate {reactivated}, plan {planned}")


def _refused(response: Any) -> bool:
    return (
        response.status_code == 403
        and response.json()["errors"][0]["extensions"]["code"] == "CLINIC_SUSPENDED"
    )


def _answered(response: Any) -> bool:
    return response.status_code == 200 and _plan(response) == "BASIC"


@pytest.mark.slow
def test_two_workers_never_serve_a_clinic_another_clinics_routing(django_db_blocker):
    with running_uvicorn(django_db_blocker, workers=2, env=production_like_env()) as server:
        tokens = {
            subdomain: http_login(server, f"{subdomain}.localhost", f"admin@{subdomain}.pe")[
                "token"
            ]
            for subdomain in ("clinica1", "clinica2")
        }
        wrong: list[Any] = []

        def hammer(subdomain: str) -> None:
            for _ in range(60):
                response = server.post(
                    f"{subdomain}.localhost",
                    {"query": ME},
                    headers={"Authorization": f"Bearer {tokens[subdomain]}"},
                )
                data = response.json().get("data") or {}
                expected = {
                    "me": {"email": f"admin@{subdomain}.pe"},
                    "currentClinic": {"subdomain": subdomain},
                }
                if response.status_code != 200 or data != expected:
                    wrong.append((subdomain, response.status_code, response.text))

        threads = [
            threading.Thread(target=hammer, args=(subdomain,))
            for subdomain in ("clinica1", "clinica2", "clinica1", "clinica2")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert not wrong, wrong[:5]

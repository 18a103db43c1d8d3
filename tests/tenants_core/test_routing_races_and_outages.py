"""Host routing (``tenants_core/routing.py``, ``tenants_core/middleware.py``) as its
docstrings promise it, where the mutation run found that no test held it (docs/testing.md,
target ``tenancy-routing``).

Each test names the mutants it kills; each was checked by applying them by hand."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import OperationalError, connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from tenants_core import routing
from tenants_core.middleware import ClinicTenantMiddleware
from tenants_core.models import Domain

pytestmark = pytest.mark.django_db


def test_routing_is_forgotten_again_when_the_changing_transaction_commits(
    clinic1, django_capture_on_commit_callbacks
):
    """``invalidate()`` inside a transaction clears now and again on commit: another thread
    may refill the cache from the old committed rows in between. Kills ``not`` added to or
    dropped from ``if connection.in_atomic_block``."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        routing.invalidate()
        assert len(routing.cache) == 0
        routing.resolve("clinica1.localhost")  # refilled before the commit
        assert len(routing.cache) == 1
    assert len(callbacks) == 1
    assert len(routing.cache) == 0


def test_a_lookup_overtaken_by_a_clear_answers_but_files_nothing(clinic1, monkeypatch):
    """A clear that lands while a lookup reads (another thread's ``invalidate()``) wins: the
    lookup answers with what it read, but does not cache it, so the next request reads
    again. Kills the generation not being bumped (``+= 1`` → ``+= 0``) and
    ``generation != self._generation`` → ``==``."""
    query = routing._query_public

    def read_while_another_thread_clears(statement: Any, params: Any) -> Any:
        row = query(statement, params)
        routing.cache.clear()
        return row

    monkeypatch.setattr(routing, "_query_public", read_while_another_thread_clears)
    snapshot = routing.resolve("clinica1.localhost")
    assert isinstance(snapshot, routing.ClinicSnapshot)
    assert snapshot.clinic().subdomain == "clinica1"
    assert len(routing.cache) == 0

    monkeypatch.setattr(routing, "_query_public", query)
    with CaptureQueriesContext(connection) as captured:
        routing.resolve("clinica1.localhost")
    assert len(captured) == 1  # not served from a cache the clear emptied
    assert len(routing.cache) == 1


def test_a_lookup_overtaken_by_a_newer_routing_version_files_nothing(
    clinic1, clinic2, monkeypatch, settings
):
    """While this lookup reads, another thread's version check finds that routing changed
    (a change no service made, seen only through the version row) and drops the cache: the
    lookup's older result must not be filed under the new version. Kills the generation
    not bumped when a new version is adopted (``+= 1`` → ``+= 0`` in ``_adopt_version``)."""
    settings.TENANT_CACHE_CHECK_SECONDS = 0
    routing.resolve("clinica2.localhost")  # cached: checking it reads only the version
    query = routing._query_public
    overtaken: list[bool] = []

    def read_then_another_thread_checks(statement: Any, params: Any) -> Any:
        row = query(statement, params)
        if not overtaken:
            overtaken.append(True)
            Domain.objects.filter(domain="clinica2.localhost").update(is_primary=True)
            routing.resolve("clinica2.localhost")  # its version check adopts the new version
        return row

    monkeypatch.setattr(routing, "_query_public", read_then_another_thread_checks)
    assert routing.resolve("clinica1.localhost").clinic().subdomain == "clinica1"
    monkeypatch.setattr(routing, "_query_public", query)
    with CaptureQueriesContext(connection) as captured:
        assert routing.resolve("clinica1.localhost").clinic().subdomain == "clinica1"
    assert len(captured) == 1  # a lookup: the overtaken answer was not filed


def _outage() -> OperationalError:
    """A real ``connection_failure`` from PostgreSQL, as Django raises it."""
    with (
        pytest.raises(OperationalError) as raised,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DO $$ BEGIN RAISE EXCEPTION 'down' USING ERRCODE = '08006'; END $$")
    return raised.value


def test_an_error_the_middleware_does_not_own_goes_on_to_django(db):
    """``process_exception`` answers conflicts and outages only; anything else is left to
    Django's handler (``None``), never turned into a 409 or a 503."""
    request = RequestFactory().post("/graphql", HTTP_HOST="clinica1.localhost")
    middleware = ClinicTenantMiddleware(lambda r: None)
    assert middleware.process_exception(request, ValueError("a bug")) is None
    response = middleware.process_exception(request, _outage())
    assert response is not None
    assert response.status_code == 503
    assert json.loads(response.content)["errors"][0]["extensions"]["code"] == (
        "DATABASE_UNAVAILABLE"
    )

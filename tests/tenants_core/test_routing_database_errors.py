"""A database error while the tenant middleware routes a request (the host lookup, on a cold
routing cache) is answered by what it is: an outage is 503 ``DATABASE_UNAVAILABLE``, a lost
race (deadlock, serialization failure) is 409 ``CONCURRENT_UPDATE``, anything else is a bug
(500). The same predicates decide as for an error raised later by the view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from backend.core import transactions
from tenants_core import routing

HOST = "clinica1.localhost"


def _routing_lookup_fails_with(sqlstate: str) -> Callable[..., Any]:
    """A statement wrapper: the routing lookup is replaced by one that makes PostgreSQL raise
    ``sqlstate``, so the middleware gets a real error from the server, as Django raises it."""

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any):
        if "tenants_core_routing_version" in sql:
            sql, params = (
                f"DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '{sqlstate}'; END $$",
                None,
            )
        return execute(sql, params, many, context)

    return wrapper


@pytest.mark.parametrize(
    ("sqlstate", "status", "code"),
    [
        (transactions.SERIALIZATION_FAILURE, 409, "CONCURRENT_UPDATE"),
        (transactions.DEADLOCK, 409, "CONCURRENT_UPDATE"),
        ("57P01", 503, "DATABASE_UNAVAILABLE"),  # admin_shutdown: the server goes away
        ("08006", 503, "DATABASE_UNAVAILABLE"),  # connection_failure
        ("22012", 500, "INTERNAL_ERROR"),  # division_by_zero: neither an outage nor a race
    ],
)
def test_a_database_error_while_routing_is_answered_by_what_it_is(
    django_db_blocker, sqlstate, status, code
):
    # Autocommit, as in production: the lookup is the request's first statement.
    with django_db_blocker.unblock():
        routing.invalidate()
        with connection.execute_wrapper(_routing_lookup_fails_with(sqlstate)):
            response = Client(raise_request_exception=False).post(
                "/graphql", data={"query": "{ currentClinic { name } }"},
                content_type="application/json", HTTP_HOST=HOST,
            )  # fmt: skip
        # The connection is still usable: the next request is served.
        routing.invalidate()
        served = Client().post(
            "/graphql", data={"query": "{ currentClinic { name } }"},
            content_type="application/json", HTTP_HOST=HOST,
        )  # fmt: skip

    assert response.status_code == status, response.content
    assert response.json()["errors"][0]["extensions"]["code"] == code
    assert served.status_code == 200
    assert served.json() == {"data": {"currentClinic": {"name": "Clínica Dental Norte"}}}

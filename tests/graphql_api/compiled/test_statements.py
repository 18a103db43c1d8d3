"""A compiled request costs one data statement, plus the token lookup, whatever the number of
rows; the plan cache is bounded and reports its size."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.scheduling.models import Appointment
from graphql_api.core.compiled import plans
from tests.dates import MONDAY, lima
from tests.factories import ChairFactory, PatientFactory, ProfessionalFactory
from tests.graphql_api.compiled.harness import answer

pytestmark = pytest.mark.django_db

AGENDA = """query($first: Int) { appointments(first: $first) { totalCount
  pageInfo { hasNextPage endCursor }
  edges { cursor node { id startsAt status patient { fullName hasAlerts allergies }
    professional { fullName workingHours { weekday } user { fullName } } chair { name } } } } }"""
PATIENTS = """query($first: Int) { patients(first: $first, search: "pér") { totalCount
  edges { node { id fullName documentNumber hasAlerts } } } }"""


def _rows(clinic, count):
    with tenant_context(clinic):
        professional = ProfessionalFactory()
        chair = ChairFactory()
        for index in range(count):
            start = lima(MONDAY, 8) + dt.timedelta(minutes=30 * index)
            Appointment.objects.create(
                patient=PatientFactory(last_name="Pérez"),
                professional=professional,
                chair=chair,
                starts_at=start,
                ends_at=start + dt.timedelta(minutes=30),
            )


def _statements(world, query, first):
    answer(world.host, query, {"first": first}, world.tokens[Role.ADMIN])  # routing warmed
    with CaptureQueriesContext(connection) as captured:
        result = answer(world.host, query, {"first": first}, world.tokens[Role.ADMIN])
    assert result.compiled, result.body[:500]
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize("query", [AGENDA, PATIENTS], ids=["agenda", "patients"])
def test_one_data_statement_for_10_and_for_100_rows(world, query):
    _rows(world.clinic, 10)
    ten = _statements(world, query, 10)
    _rows(world.clinic, 90)
    hundred = _statements(world, query, 100)
    assert len(ten) == len(hundred), hundred
    # The transaction's schema (its first statement, backend/core/db_backend), the token, and
    # the answer.
    schema, token, data = hundred
    assert schema.startswith("SELECT set_config('search_path'"), schema
    assert 'FROM "accounts_authtoken"' in token, token
    assert data.startswith("SELECT json_build_object("), data


def test_the_plan_cache_is_bounded_and_reports_its_size(world, settings):
    settings.GRAPHQL_COMPILED_PLANS = 3
    for first in range(5):
        query = f"{{ patients(first: {first}) {{ edges {{ node {{ id }} }} }} }}"
        assert answer(world.host, query, {}, world.tokens[Role.ADMIN]).compiled
    answer(world.host, "{ currentClinic { name } }", {}, world.tokens[Role.ADMIN])
    stats = plans.stats()
    assert stats["entries"] == 3
    assert stats["max_entries"] == 3
    assert stats["declined"] == 1  # currentClinic is not covered: its refusal is kept too
    assert stats["sql_chars"] > 0


@pytest.mark.parametrize("query", [AGENDA, PATIENTS], ids=["agenda", "patients"])
def test_the_list_is_numbered_around_djangos_own_text(world, query):
    """Django compiles the scoped queryset once, and the numbering wraps its text (the
    fallback, Django's own window expressions, compiles a second time)."""
    from graphql_api.core.compiled import runner

    calls = []
    original = runner._compiled

    def counting(queryset):
        calls.append(queryset)
        return original(queryset)

    runner._compiled = counting
    try:
        assert answer(world.host, query, {"first": 5}, world.tokens[Role.ADMIN]).compiled
    finally:
        runner._compiled = original
    assert len(calls) == 1


def test_a_planned_known_valid_text_skips_strawberrys_execution(world, monkeypatch):
    """The second request of a text is answered from its plan by the view
    (compiled/fast_path.py): strawberry's execute_sync never runs for it."""
    from graphql_api.schema import schema

    assert answer(world.host, PATIENTS, {"first": 5}, world.tokens[Role.ADMIN]).compiled

    def refuse(*args, **kwargs):
        raise AssertionError("strawberry executed a planned, known-valid text")

    monkeypatch.setattr(schema, "execute_sync", refuse)
    again = answer(world.host, PATIENTS, {"first": 5}, world.tokens[Role.ADMIN])
    assert again.compiled
    assert again.status == 200


def test_a_declined_request_runs_its_statement_once(world):
    """A patient nobody has: the fast path's statement finds no row and declines; the normal
    execution answers NOT_FOUND without the extension running the plan again."""
    query = "query($id: ID!) { patient(id: $id) { id fullName } }"
    real = {"id": world.ids["Patient"][0]}
    assert answer(world.host, query, real, world.tokens[Role.ADMIN]).compiled  # planned
    from strawberry.relay import to_base64

    missing = to_base64("Patient", f"{world.clinic.pk}.999999")
    with CaptureQueriesContext(connection) as captured:
        result = answer(world.host, query, {"id": missing}, world.tokens[Role.ADMIN])
    assert not result.compiled
    assert b"NOT_FOUND" in result.body
    compiled_statements = [q for q in captured.captured_queries if "json_build_object" in q["sql"]]
    assert len(compiled_statements) == 1


def test_a_named_operation_sent_without_its_name_takes_the_fast_path_too(world, monkeypatch):
    """The plan is kept under the name the client sent (None for a lone operation), which is
    what the view looks up: a named query sent without ``operationName`` is still answered
    without strawberry's execution from its second request."""
    from graphql_api.schema import schema

    named = "query Named($first: Int) { patients(first: $first) { totalCount } }"
    assert answer(world.host, named, {"first": 5}, world.tokens[Role.ADMIN]).compiled

    def refuse(*args, **kwargs):
        raise AssertionError("strawberry executed a planned, known-valid text")

    monkeypatch.setattr(schema, "execute_sync", refuse)
    assert answer(world.host, named, {"first": 5}, world.tokens[Role.ADMIN]).compiled

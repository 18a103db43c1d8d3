"""Label values stay bounded whatever the client sends; the clinic is never one of them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from backend.observability import labels, metrics


@pytest.fixture
def fresh_names(monkeypatch, settings):
    settings.METRICS_MAX_OPERATIONS = 3
    monkeypatch.setattr(labels, "_seen", set())


def test_only_the_first_distinct_names_get_their_own_label(fresh_names):
    assert [labels.operation(f"Op{i}") for i in range(5)] == ["Op0", "Op1", "Op2", "other", "other"]
    assert labels.operation("Op1") == "Op1"  # seen before the cap: still its own


@pytest.mark.parametrize(
    "name", ["x" * 65, "1abc", "a-b", "DROP TABLE x;", "é", "a b", 'a"}', "a\nb"]
)
def test_a_name_that_is_not_a_graphql_name_is_other(fresh_names, name):
    assert labels.operation(name) == "other"


def test_no_name_is_a_dash(fresh_names):
    assert labels.operation(None) == "-"
    assert labels.operation("") == "-"


def test_the_plan_is_the_only_tenant_label():
    plan = SimpleNamespace(code="professional")
    clinic = SimpleNamespace(
        is_public=False, schema_name="clinica1", subdomain="clinica1", plan=plan
    )
    assert labels.plan(SimpleNamespace(tenant=clinic)) == "professional"
    assert labels.plan(SimpleNamespace(tenant=SimpleNamespace(is_public=True))) == "platform"
    assert labels.plan(SimpleNamespace()) == "none"


@pytest.mark.parametrize(
    ("status", "codes", "outcome"),
    [
        (200, [], "ok"),
        (200, ["UNAUTHENTICATED"], "refused"),
        (400, ["GRAPHQL_VALIDATION_FAILED"], "refused"),
        (200, ["INTERNAL_ERROR"], "error"),
        (503, ["DATABASE_UNAVAILABLE"], "error"),
        (404, [], "refused"),
        (500, [], "error"),
    ],
)
def test_outcomes(status, codes, outcome):
    assert metrics.outcome(status, codes) == outcome


def test_error_codes_are_bounded():
    assert metrics.error_code("INTERNAL_ERROR") == "INTERNAL_ERROR"
    assert metrics.error_code("not a code {}") == "other"

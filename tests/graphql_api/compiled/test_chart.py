"""The patient chart answered by compiled reads (issue 21): the benchmark's chart query (and the
same with the patient's treatment plans) is one statement for the roles that may read it, the
same bytes as the normal execution for everyone, refusals and ``NOT_FOUND`` left to the normal
execution, and a statement count that does not grow with the chart."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from strawberry.relay import to_base64

from backend.accounts.models import Role, User
from backend.clinical.models import (
    Condition,
    Finding,
    FindingCondition,
    FindingState,
    Material,
    MedicalHistory,
)
from backend.clinical.teeth import ALL_TEETH, SURFACES
from backend.resources.models import Professional
from backend.treatments.models import ItemStatus, PlanStatus, TreatmentPlan, TreatmentPlanItem
from benchmarks.suites import PATIENT_CHART
from tenants_core import routing
from tenants_core.models import Clinic
from tests.factories import PatientFactory
from tests.graphql_api.compiled.harness import answer, equivalent
from tests.graphql_api.compiled.test_differential import EXAMPLES, PHASES, SEED, ZONES
from tests.graphql_api.compiled.world_chart import INSTANTS, catalog, chart_rows
from tests.ids import global_id

pytestmark = pytest.mark.django_db

# The benchmark's chart with the patient's plans (as benchmarks/views_patients.py extends it).
CHART_WITH_PLANS = """
query PatientChart($id: ID!) {
  patient(id: $id) { id fullName allergies medicalAlerts hasAlerts }
  medicalHistory(patientId: $id) { version conditions medications recordedAt }
  odontogram(patientId: $id) { teeth { tooth findings { condition state surfaces } } }
  treatmentPlans(patientId: $id, first: 10) {
    totalCount
    edges { node {
      id title status createdAt totals { net remaining }
      items { id procedure { name } tooth surfaces price discount status }
    } }
  }
}
"""
# Every covered field of the chart, twice where an alias can be.
FULL_CHART = """
query FullChart($id: ID!, $at: DateTime) {
  medicalHistory(patientId: $id) {
    id version conditions conditionsNotes medications allergies isPregnant isSmoker
    takesAnticoagulants lastDentalVisit recordedAt recordedBy { id fullName role }
  }
  medicalHistoryVersions(patientId: $id) { __typename id version conditions recordedAt }
  then: odontogram(patientId: $id, at: $at) {
    __typename at
    teeth {
      __typename tooth
      findings {
        id tooth surfaces condition material state notes recordedAt resolvedAt
        recordedBy { fullName }
      }
    }
  }
  now: odontogram(patientId: $id) { at teeth { tooth findings { id resolvedAt } } }
  treatmentPlans(patientId: $id, first: 3, after: "YXJyYXljb25uZWN0aW9uOjA=") {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node {
      id title status currency createdAt updatedAt
      patient { fullName } dentist { fullName }
      totals { __typename gross discounts net done remaining }
      items {
        id tooth surfaces price discount net phase sequence status
        procedure {
          id code name category defaultPrice currency defaultDurationMinutes requiresTooth
          resultCondition resultMaterial isActive
        }
      }
    } }
  }
}
"""
CLINICAL = (Role.ADMIN, Role.DENTIST, Role.ASSISTANT)
# Statements that read no clinic table: the request's schema and session settings, and the
# public routing tables (host → clinic).
PUBLIC_TABLES = ("tenants_core_domain", "tenants_core_clinic", "tenants_core_plan")


def _chart_patient(world: Any) -> str:
    return world.ids["ChartPatient"][0]


@pytest.mark.parametrize("query", [PATIENT_CHART, CHART_WITH_PLANS, FULL_CHART])
def test_the_chart_is_compiled_and_the_same_bytes_for_every_role(world, query):
    variables = {"id": _chart_patient(world), "at": INSTANTS[4].isoformat()}
    if "$at" not in query:
        variables.pop("at")
    for role in CLINICAL:
        compiled = equivalent(world.host, query, variables, world.tokens[role])
        assert compiled.compiled, role
        assert b'"errors"' not in compiled.body
        assert b'"findings":[{' in compiled.body  # a chart with rows, not an empty one
    refused = equivalent(world.host, query, variables, world.tokens[Role.RECEPTIONIST])
    assert not refused.compiled
    assert b'"FORBIDDEN"' in refused.body


def test_the_chart_has_what_the_world_recorded(world):
    """Not only equal: the compiled chart holds a finding resolved since ``at`` and exact
    totals (a guard against two executions that agree on nothing)."""
    chart = answer(
        world.host,
        FULL_CHART,
        {"id": _chart_patient(world), "at": INSTANTS[2].isoformat()},
        world.tokens[Role.DENTIST],
    )
    assert chart.compiled
    assert b'"resolvedAt":"' in chart.body  # the caries of 16, resolved later
    query = "query($id: ID!) { treatmentPlan(id: $id) { totals { gross discounts net done remaining } } }"
    totals = {}
    for index in (0, 5):
        plan = answer(
            world.host, query, {"id": world.ids["TreatmentPlan"][index]}, world.tokens[Role.ADMIN]
        )
        assert plan.compiled
        totals[index] = plan.body
    # No items: money(Decimal(0)) is 0.00, not 0.
    zero = b'{"gross":"0.00","discounts":"0.00","net":"0.00","done":"0.00","remaining":"0.00"}'
    assert zero in totals[0]
    # 120.50 done, 450.00 - 45.05, 1899.99 fully discounted, 0.00 done, 99.99 cancelled.
    assert (
        b'{"gross":"2470.49","discounts":"1945.04","net":"525.45","done":"120.50",'
        b'"remaining":"404.95"}'
    ) in totals[5]


PLANS_SUMMARY = """
query($id: ID!) {
  treatmentPlans(patientId: $id) { edges { node { id status totals { net remaining } } } }
}
"""
PLANS_WITH_ITEMS = [
    """
    query($id: ID!) {
      treatmentPlans(patientId: $id) { edges { node { id items { id price } } } }
    }
    """,
    """
    query($id: ID!) {
      treatmentPlans(patientId: $id) { edges { node { patient { id } items { net } } } }
      kind: __typename
    }
    """,
]


@pytest.mark.parametrize("role", [*CLINICAL, Role.RECEPTIONIST])
def test_the_plans_summary_is_compiled_for_every_role(world, role):
    variables = {"id": _chart_patient(world)}
    compiled = equivalent(world.host, PLANS_SUMMARY, variables, world.tokens[role])
    assert compiled.compiled
    assert b'"net":"' in compiled.body


@pytest.mark.parametrize("query", PLANS_WITH_ITEMS)
@pytest.mark.parametrize("role", [*CLINICAL, Role.RECEPTIONIST])
def test_the_items_are_refused_to_the_front_desk_as_the_normal_execution_refuses(
    world, role, query
):
    """``TreatmentPlan.items`` has its own permission (clinical): inside a connection too,
    a receptionist's request declines to the normal execution's FORBIDDEN on the items."""
    plan_query = "query($id: ID!) { treatmentPlan(id: $id) { status items { id } } }"
    for text, variables in (
        (query, {"id": _chart_patient(world)}),
        (plan_query, {"id": world.ids["TreatmentPlan"][3]}),
    ):
        result = equivalent(world.host, text, variables, world.tokens[role])
        if role == Role.RECEPTIONIST:
            assert not result.compiled
            assert b'"FORBIDDEN"' in result.body
            assert b'"price"' not in result.body
            assert b'"net"' not in result.body
        else:
            assert result.compiled
            assert b'"errors"' not in result.body


@pytest.mark.parametrize("who", ["nobody", "wrong", "other_clinic", "public_domain"])
@pytest.mark.parametrize("query", [PATIENT_CHART, CHART_WITH_PLANS])
def test_refusals_are_the_normal_ones(world, public_tenant, who, query):
    host = "localhost" if who == "public_domain" else world.host
    token = {
        "nobody": None,
        "wrong": "not-a-token",
        "other_clinic": world.other_clinic_token,
        "public_domain": world.tokens[Role.ADMIN],
    }[who]
    refused = equivalent(host, query, {"id": _chart_patient(world)}, token)
    assert not refused.compiled
    assert b'"errors"' in refused.body


@pytest.mark.parametrize(
    "patient",
    ["nothing", "other_clinic", "other_type", "not_a_number"],
)
def test_an_unknown_patient_is_the_normal_not_found(world, patient):
    patient_id = {
        "nothing": to_base64("Patient", f"{world.clinic.pk}.999999"),
        "other_clinic": world.other_ids["ChartPatient"][0],
        "other_type": world.ids["Chair"][0],
        "not_a_number": to_base64("Patient", f"{world.clinic.pk}.x1"),
    }[patient]
    for query in (PATIENT_CHART, CHART_WITH_PLANS):
        refused = equivalent(world.host, query, {"id": patient_id}, world.tokens[Role.ADMIN])
        assert not refused.compiled
        assert b'"NOT_FOUND"' in refused.body


@pytest.mark.parametrize(
    "at",
    ["2026-01-01T10:00:00", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"],
)
def test_an_at_the_normal_execution_cannot_echo_is_left_to_it(world, at):
    """Without an offset, or at the calendar's edge, the normal execution fails to echo ``at``
    (an INTERNAL_ERROR: a defect of its own, reported): the compiled one declines rather than
    answer what the normal one cannot, so both fail alike."""
    query = "query($id: ID!, $at: DateTime) { odontogram(patientId: $id, at: $at) { at } }"
    variables = {"id": _chart_patient(world), "at": at}
    result = equivalent(world.host, query, variables, world.tokens[Role.ADMIN])
    assert not result.compiled
    assert b'"INTERNAL_ERROR"' in result.body


def test_a_patient_without_a_chart(world):
    empty = world.ids["ChartPatient"][2]
    compiled = equivalent(world.host, CHART_WITH_PLANS, {"id": empty}, world.tokens[Role.ADMIN])
    assert compiled.compiled
    assert b'"medicalHistory":null' in compiled.body
    assert b'"teeth":[]' in compiled.body
    assert b'"totalCount":0' in compiled.body


def _clinic_statements(world: Any, query: str, variables: dict[str, Any], token: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        result = answer(world.host, query, variables, token)
    assert result.compiled
    assert b'"errors"' not in result.body
    return [
        statement["sql"]
        for statement in captured.captured_queries
        if not statement["sql"].lstrip().lower().startswith(("set ", "select set_config"))
        and not any(table in statement["sql"] for table in PUBLIC_TABLES)
    ]


def test_one_statement_for_the_chart_whatever_its_size(world):
    counts = {}
    with tenant_context(world.clinic):
        user = User.objects.get(email="dentist@w.pe")
        dentist = Professional.objects.filter(is_active=True).first()
        patients = {size: PatientFactory(first_name=f"Tamaño {size}") for size in (10, 100)}
        for size, patient in patients.items():
            chart_rows(patient, user, dentist, size)
    token = world.tokens[Role.DENTIST]
    for size, patient in patients.items():
        variables = {"id": global_id("Patient", patient.pk, world.clinic)}
        answer(world.host, CHART_WITH_PLANS, variables, token)  # the plan, cached
        statements = _clinic_statements(world, CHART_WITH_PLANS, variables, token)
        data = [sql for sql in statements if "json_build_object" in sql]
        assert len(data) == 1, statements
        assert len(statements) == 2, statements  # the token's lookup, and the data
        counts[size] = len(statements)
    assert counts[10] == counts[100]


# --- generated charts -------------------------------------------------------------------------

TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=24
)
MOMENTS = st.datetimes(  # hypothesis takes naive bounds and adds the zone
    min_value=dt.datetime(1890, 1, 1),  # noqa: DTZ001
    max_value=dt.datetime(2090, 12, 31),  # noqa: DTZ001
    timezones=st.just(dt.UTC),
)
CENTS = st.integers(0, 9_999_999_999)  # numeric(10, 2): up to 99999999.99
SURFACE_LISTS = st.lists(st.sampled_from(SURFACES), max_size=5)
GENERATED_CHART = """
query Generated($id: ID!, $at: DateTime) {
  medicalHistory(patientId: $id) {
    id version conditions conditionsNotes medications allergies isPregnant isSmoker
    takesAnticoagulants lastDentalVisit recordedAt recordedBy { fullName }
  }
  medicalHistoryVersions(patientId: $id) { version conditions recordedAt }
  odontogram(patientId: $id, at: $at) {
    at teeth { tooth findings {
      id tooth surfaces condition material state notes recordedAt resolvedAt
    } }
  }
  treatmentPlans(patientId: $id, first: 100) { totalCount edges { cursor node {
    id title status currency createdAt updatedAt
    totals { gross discounts net done remaining }
    items { id tooth surfaces price discount net phase sequence status procedure { code } }
  } } }
}
"""


@st.composite
def generated_chart(draw: Any) -> dict[str, Any]:
    histories = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "conditions": st.lists(st.sampled_from(Condition.values), max_size=4),
                    "conditions_notes": TEXT,
                    "medications": TEXT,
                    "allergies": TEXT,
                    "is_pregnant": st.none() | st.booleans(),
                    "is_smoker": st.booleans(),
                    "takes_anticoagulants": st.booleans(),
                    "last_dental_visit": st.none()
                    | st.dates(dt.date(1900, 1, 1), dt.date(2090, 1, 1)),
                    "recorded_at": MOMENTS,
                }
            ),
            max_size=3,
        )
    )
    findings = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "tooth": st.sampled_from(sorted(ALL_TEETH)),
                    "surfaces": SURFACE_LISTS,
                    "condition": st.sampled_from(FindingCondition.values),
                    "material": st.sampled_from(["", *Material.values]),
                    "state": st.sampled_from(FindingState.values),
                    "notes": TEXT,
                    "recorded_at": MOMENTS,
                    "lasted": st.none()
                    | st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=4000)),
                }
            ),
            max_size=8,
        )
    )
    item = st.fixed_dictionaries(
        {
            "price": CENTS,
            "discount_share": st.floats(0, 1),
            "tooth": st.none() | st.sampled_from(sorted(ALL_TEETH)),
            "surfaces": SURFACE_LISTS,
            "phase": st.integers(0, 3),
            "sequence": st.integers(0, 3),
            "status": st.sampled_from(ItemStatus.values),
        }
    )
    plans = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "title": TEXT,
                    "status": st.sampled_from(PlanStatus.values),
                    "created_at": st.sampled_from(INSTANTS) | MOMENTS,
                    "updated_at": MOMENTS,
                    "items": st.lists(item, max_size=5),
                }
            ),
            max_size=3,
        )
    )
    return {"histories": histories, "findings": findings, "plans": plans}


def _write_chart(patient: Any, user: Any, dentist: Any, rows: dict[str, Any]) -> None:
    procedures = catalog()
    for version, fields in enumerate(rows["histories"], start=1):
        MedicalHistory.objects.create(patient=patient, version=version, recorded_by=user, **fields)
    for fields in rows["findings"]:
        lasted = fields.pop("lasted")
        Finding.objects.create(
            patient=patient,
            recorded_by=user,
            resolved_at=None if lasted is None else fields["recorded_at"] + lasted,
            **fields,
        )
    for number, fields in enumerate(rows["plans"]):
        items = fields.pop("items")
        plan = TreatmentPlan.objects.create(
            patient=patient, dentist=dentist, created_by=user, **fields
        )
        for index, entry in enumerate(items):
            price = Decimal(entry["price"]) / 100
            discount = (price * Decimal(entry["discount_share"])).quantize(
                Decimal("0.01"), ROUND_DOWN
            )
            TreatmentPlanItem.objects.create(
                plan=plan,
                procedure=procedures[(number + index) % len(procedures)],
                price=price,
                discount=min(discount, price),
                tooth=entry["tooth"],
                surfaces=entry["surfaces"],
                phase=entry["phase"],
                sequence=entry["sequence"],
                status=entry["status"],
            )


def test_generated_charts_answer_alike(world):
    """Charts hypothesis writes (any Unicode text, instants from 1890 to 2090 to the
    microsecond, findings resolved or not, equal instants, exact cents up to the column's
    largest, full and partial discounts), read by both executions with every field of the
    chart, in zones with half-hour, DST and seconds offsets, as of now or any ``at``."""
    tally = {"compiled": 0, "examples": 0}
    with tenant_context(world.clinic):
        user = User.objects.get(email="assistant@w.pe")
        dentist = Professional.objects.filter(is_active=True).order_by("pk").first()

    @seed(SEED)
    @settings(
        max_examples=max(10, EXAMPLES // 3),
        deadline=None,
        database=None,
        phases=PHASES,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        rows=generated_chart(),
        zone=st.sampled_from(ZONES),
        role=st.sampled_from(CLINICAL),
        at=st.none() | st.sampled_from(INSTANTS) | MOMENTS,
    )
    def generated(rows: dict[str, Any], zone: str, role: str, at: dt.datetime | None) -> None:
        Clinic.objects.filter(pk=world.clinic.pk).update(timezone=zone)
        routing.invalidate()
        with transaction.atomic():
            with tenant_context(world.clinic):
                patient = PatientFactory(first_name="Generada")
                _write_chart(patient, user, dentist, rows)
            connection.set_schema_to_public()
            variables = {
                "id": global_id("Patient", patient.pk, world.clinic),
                "at": at.isoformat() if at else None,
            }
            result = equivalent(world.host, GENERATED_CHART, variables, world.tokens[role])
            tally["examples"] += 1
            tally["compiled"] += result.compiled
            transaction.set_rollback(True)

    generated()
    assert tally["compiled"] == tally["examples"], tally

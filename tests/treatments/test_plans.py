"""The procedure catalog, treatment plans, exact totals, and completing items."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.clinical.models import Finding
from backend.patients.models import Patient
from backend.resources.models import Professional
from backend.treatments import services
from backend.treatments.models import (
    PerformedProcedure,
    PlanStatus,
    Procedure,
    TreatmentPlan,
    TreatmentPlanItem,
)
from backend.treatments.money import percent_of
from tests.conftest import error_code, graphql
from tests.dates import MONDAY, lima
from tests.ids import global_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(clinic1, make_staff, token_for):
    dentist = make_staff(clinic1, Role.DENTIST)
    with tenant_context(clinic1):
        patient = Patient.objects.create(
            first_name="José", last_name="Pérez", document_type="DNI", document_number="12345678"
        )
        professional = Professional.objects.create(
            full_name="Dra. Soto", license_number="1", user=dentist
        )
        resin = Procedure.objects.create(
            code="RES", name="Resina simple", category="RESTORATIVE", default_price=Decimal("120.00"),
            requires_tooth=True, result_condition="RESTORATION", result_material="RESIN",
        )  # fmt: skip
        cleaning = Procedure.objects.create(
            code="PRO", name="Profilaxis", category="PREVENTION", default_price=Decimal("80.00")
        )
    return {
        "dentist": dentist, "token": token_for(clinic1, dentist), "patient": patient,
        "professional": professional, "resin": resin, "cleaning": cleaning, "clinic": clinic1,
    }  # fmt: skip


def run(client, token, query, **variables):
    _, body = graphql(client, query, host="clinica1.localhost", token=token, variables=variables)
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


CREATE_PLAN = """
mutation($p: ID!, $d: ID!) { createTreatmentPlan(input: {patientId: $p, dentistId: $d, title: "Rehabilitación"}) { ... on TreatmentPlan { id status } } }
"""
ADD_ITEM = """
mutation($plan: ID!, $input: PlanItemInput!) {
  addTreatmentPlanItem(planId: $plan, input: $input) {
    __typename
    ... on TreatmentPlanItem { id price discount net tooth surfaces }
    ... on OperationInfo { messages { code field } }
  }
}
"""
PLAN = """
query($id: ID!) { treatmentPlan(id: $id) { status totals { gross discounts net done remaining } items { status net } } }
"""
STATUS = """
mutation($id: ID!, $status: PlanStatus!) { changeTreatmentPlanStatus(id: $id, status: $status) { __typename ... on TreatmentPlan { status } ... on OperationInfo { messages { code } } } }
"""
COMPLETE = """
mutation($id: ID!) { completeTreatmentPlanItem(id: $id) { __typename ... on TreatmentPlanItem { status } ... on OperationInfo { messages { code } } } }
"""


def new_plan(client, w):
    return run(
        client,
        w["token"],
        CREATE_PLAN,
        p=global_id("Patient", w["patient"].pk),
        d=global_id("Professional", w["professional"].pk),
    )


def add(client, w, plan, **fields):
    return run(
        client,
        w["token"],
        ADD_ITEM,
        plan=plan["id"],
        input={
            "procedureId": global_id("Procedure", w["resin"].pk),
            "tooth": 16,
            "surfaces": ["O"],
            **fields,
        },
    )


@pytest.mark.parametrize(
    ("price", "percent", "expected"),
    [
        ("10.05", "50", "5.03"),  # half up, not half even (5.02)
        ("33.33", "15", "5.00"),  # 4.9995
        ("0.05", "50", "0.03"),
        ("100.00", "12.5", "12.50"),
        ("99.99", "100", "99.99"),
        ("120.00", "0", "0.00"),
    ],
)
def test_percentage_discounts_round_half_up_to_the_cent(price, percent, expected):
    assert percent_of(Decimal(price), Decimal(percent), "discount_percent") == Decimal(expected)


def test_totals_with_amount_and_percentage_discounts(client, world):
    plan = new_plan(client, world)
    add(client, world, plan, price="10.05", discountPercent="50")  # net 5.02
    add(client, world, plan, tooth=26, price="120.00", discount="20.00")  # net 100.00
    cleaning = run(
        client,
        world["token"],
        ADD_ITEM,
        plan=plan["id"],
        input={"procedureId": global_id("Procedure", world["cleaning"].pk)},
    )
    assert (cleaning["price"], cleaning["discount"], cleaning["tooth"]) == ("80.00", "0.00", None)
    data = run(client, world["token"], PLAN, id=plan["id"])
    assert data["totals"] == {
        "gross": "210.05",
        "discounts": "25.03",
        "net": "185.02",
        "done": "0.00",
        "remaining": "185.02",
    }


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"price": "50.00", "discount": "50.01"}, [("discount", "DISCOUNT_EXCEEDS_PRICE")]),
        (
            {"price": "50.00", "discount": "1", "discountPercent": "10"},
            [("discount", "INVALID_AMOUNT")],
        ),
        ({"price": "-1.00"}, [("price", "INVALID_AMOUNT")]),
        ({"price": "10.005"}, [("price", "INVALID_AMOUNT")]),
        ({"discountPercent": "101"}, [("discountPercent", "INVALID_AMOUNT")]),
        ({"tooth": 19}, [("tooth", "INVALID_TOOTH")]),
        ({"tooth": 11, "surfaces": ["O"]}, [("surfaces", "INVALID_SURFACE")]),
        ({"tooth": None}, [("tooth", "TOOTH_REQUIRED")]),
    ],
)
def test_bad_items_get_their_code_and_change_nothing(client, world, fields, expected):
    plan = new_plan(client, world)
    payload = add(client, world, plan, **fields)
    assert [(m["field"], m["code"]) for m in payload["messages"]] == expected
    with tenant_context(world["clinic"]):
        assert not TreatmentPlan.objects.get().items.exists()
        assert not Finding.objects.exists()


# The plan lifecycle as the README states it, written here by hand: never read from
# backend.treatments.services. Whoever changes a move changes this table, on purpose, in the
# same commit. DRAFT → PRESENTED → ACCEPTED | REJECTED, then ACCEPTED → IN_PROGRESS → COMPLETED;
# a presented plan may go back to DRAFT to be edited. REJECTED and COMPLETED are final.
PLAN_MOVES = {
    "DRAFT": {"PRESENTED"},
    "PRESENTED": {"ACCEPTED", "REJECTED", "DRAFT"},
    "ACCEPTED": {"IN_PROGRESS"},
    "IN_PROGRESS": {"COMPLETED"},
    "REJECTED": set(),
    "COMPLETED": set(),
}
PLAN_PAIRS = [(source, target) for source in PLAN_MOVES for target in PLAN_MOVES]


def test_the_spec_table_names_every_plan_status_the_api_has():
    assert set(PLAN_MOVES) == {status.value for status in PlanStatus}


@pytest.mark.parametrize(("source", "target"), PLAN_PAIRS, ids=[f"{s}->{t}" for s, t in PLAN_PAIRS])
def test_every_plan_status_change_is_allowed_or_refused_as_the_spec_table_says(
    client, world, source, target
):
    """Mutation checks (issue 22): adding COMPLETED → DRAFT to ``services.PLAN_TRANSITIONS``
    turns ``COMPLETED->DRAFT`` red; removing PRESENTED → ACCEPTED turns its pair red."""
    plan = new_plan(client, world)
    add(client, world, plan)
    with tenant_context(world["clinic"]):
        TreatmentPlan.objects.update(status=source)
        if target == "COMPLETED":  # completing needs every item done or cancelled
            TreatmentPlanItem.objects.update(status="DONE")
        before = TreatmentPlan.objects.get()
    payload = run(client, world["token"], STATUS, id=plan["id"], status=target)
    with tenant_context(world["clinic"]):
        after = TreatmentPlan.objects.get()
        trail = AuditEvent.objects.filter(action="treatment_plan.change_status").count()
    if target in PLAN_MOVES[source]:
        assert payload == {"__typename": "TreatmentPlan", "status": target}
        assert (after.status, trail) == (target, 1)
    else:
        assert payload == {
            "__typename": "OperationInfo",
            "messages": [{"code": "INVALID_TRANSITION"}],
        }
        assert (after.status, after.updated_at, trail) == (source, before.updated_at, 0)


def test_an_empty_plan_cannot_be_presented(client, world):
    plan = new_plan(client, world)
    assert run(client, world["token"], STATUS, id=plan["id"], status="PRESENTED")["messages"] == [
        {"code": "PLAN_EMPTY"}
    ]


def test_completing_items_updates_the_chart_records_the_procedure_and_moves_the_plan(client, world):
    plan = new_plan(client, world)
    first = add(client, world, plan, discount="20.00")
    second = add(client, world, plan, tooth=26)
    with tenant_context(world["clinic"]):
        planned = Finding.objects.get(tooth=16, resolved_at__isnull=True)
        assert (planned.state, planned.condition, planned.material) == (
            "PLANNED",
            "RESTORATION",
            "RESIN",
        )
    assert run(client, world["token"], COMPLETE, id=first["id"])["messages"] == [
        {"code": "PLAN_NOT_ACCEPTED"}
    ]
    run(client, world["token"], STATUS, id=plan["id"], status="PRESENTED")
    run(client, world["token"], STATUS, id=plan["id"], status="ACCEPTED")

    assert run(client, world["token"], COMPLETE, id=first["id"]) == {
        "__typename": "TreatmentPlanItem",
        "status": "DONE",
    }
    data = run(client, world["token"], PLAN, id=plan["id"])
    assert data["status"] == "IN_PROGRESS"
    assert data["totals"] == {
        "gross": "240.00",
        "discounts": "20.00",
        "net": "220.00",
        "done": "100.00",
        "remaining": "120.00",
    }
    with tenant_context(world["clinic"]):
        now16 = Finding.objects.get(tooth=16, resolved_at__isnull=True)
        assert now16.state == "EXISTING"
        assert now16.replaces_id == planned.pk
        performed = PerformedProcedure.objects.get()
        assert (performed.price, performed.tooth, performed.professional_id) == (
            Decimal("100.00"),
            16,
            world["professional"].pk,
        )
    assert run(client, world["token"], COMPLETE, id=first["id"])["messages"] == [
        {"code": "ITEM_NOT_PLANNED"}
    ]

    run(client, world["token"], COMPLETE, id=second["id"])
    assert run(client, world["token"], PLAN, id=plan["id"])["status"] == "COMPLETED"


def test_a_receptionist_sees_a_plans_status_and_totals_but_not_its_items(
    client, world, make_staff, token_for
):
    plan = new_plan(client, world)
    add(client, world, plan)
    receptionist = token_for(world["clinic"], make_staff(world["clinic"], Role.RECEPTIONIST))
    summary = "query($id: ID!) { treatmentPlan(id: $id) { status totals { net } } }"
    _, body = graphql(
        client, summary, host="clinica1.localhost", token=receptionist, variables={"id": plan["id"]}
    )
    assert body == {"data": {"treatmentPlan": {"status": "DRAFT", "totals": {"net": "120.00"}}}}
    _, body = graphql(
        client, PLAN, host="clinica1.localhost", token=receptionist, variables={"id": plan["id"]}
    )
    assert error_code(body) == "FORBIDDEN"


@pytest.mark.parametrize("rows", [5, 100])
def test_a_plan_with_its_items_costs_the_same_statements(
    client, world, django_assert_num_queries, rows
):
    plan = new_plan(client, world)
    with tenant_context(world["clinic"]):
        from backend.treatments.models import TreatmentPlanItem

        db_plan = TreatmentPlan.objects.get()
        TreatmentPlanItem.objects.bulk_create(
            TreatmentPlanItem(
                plan=db_plan, procedure=world["cleaning"], price=Decimal("80.00"), sequence=i
            )
            for i in range(rows)
        )
    query = "query($id: ID!) { treatmentPlan(id: $id) { status totals { net } items { net status procedure { name } } } }"
    # routing warm (new_plan asked first): no host lookup; SET 1 (tenant_context moved the
    # session), token 1, and the plan with its totals and its items with their procedures in
    # one compiled statement 1
    with django_assert_num_queries(3):
        data = run(client, world["token"], query, id=plan["id"])
    assert data["totals"]["net"] == str(Decimal("80.00") * rows)


def test_catalog_codes_are_unique_and_prices_exact(clinic1, world):
    from backend.treatments import catalog

    with tenant_context(clinic1):
        with pytest.raises(ValidationError) as raised:
            catalog.procedure_create(
                actor=world["dentist"],
                data={
                    "code": "res",
                    "name": "Otra",
                    "category": "RESTORATIVE",
                    "default_price": "10",
                },
            )
        assert raised.value.error_dict["code"][0].code == "CODE_TAKEN"
        with pytest.raises(ValidationError) as raised:
            catalog.procedure_create(
                actor=world["dentist"],
                data={
                    "code": "NEW",
                    "name": "Otra",
                    "category": "RESTORATIVE",
                    "default_price": "10.001",
                },
            )
        assert raised.value.error_dict["default_price"][0].code == "INVALID_AMOUNT"


def test_cancelling_an_item_takes_its_planned_finding_off_the_chart(client, world):
    plan = new_plan(client, world)
    item = add(client, world, plan)
    payload = run(
        client,
        world["token"],
        "mutation($id: ID!) { cancelTreatmentPlanItem(id: $id) { ... on TreatmentPlanItem { status } } }",
        id=item["id"],
    )
    assert payload == {"status": "CANCELLED"}
    with tenant_context(world["clinic"]):
        assert not Finding.objects.filter(resolved_at__isnull=True).exists()
    assert run(client, world["token"], PLAN, id=plan["id"])["totals"]["gross"] == "0.00"


def test_services_refuse_items_outside_a_draft(clinic1, world):
    with tenant_context(clinic1):
        plan = services.plan_create(
            actor=world["dentist"],
            patient=world["patient"],
            dentist=world["professional"],
            title="P",
        )
        TreatmentPlan.objects.filter(pk=plan.pk).update(status="ACCEPTED")
        with pytest.raises(ValidationError) as raised:
            services.plan_item_add(actor=world["dentist"], plan=plan, procedure=world["cleaning"])
    assert raised.value.code == "PLAN_NOT_EDITABLE"


def test_a_plan_with_planned_items_cannot_be_completed(client, world):
    plan = new_plan(client, world)
    add(client, world, plan)
    with tenant_context(world["clinic"]):
        TreatmentPlan.objects.update(status="IN_PROGRESS")
    assert run(client, world["token"], STATUS, id=plan["id"], status="COMPLETED")["messages"] == [
        {"code": "INVALID_TRANSITION"}
    ]


def test_rejecting_a_plan_takes_its_planned_findings_off_the_chart(client, world):
    plan = new_plan(client, world)
    add(client, world, plan)
    run(client, world["token"], STATUS, id=plan["id"], status="PRESENTED")
    assert (
        run(client, world["token"], STATUS, id=plan["id"], status="REJECTED")["status"]
        == "REJECTED"
    )
    with tenant_context(world["clinic"]):
        assert not Finding.objects.filter(resolved_at__isnull=True).exists()
        assert set(TreatmentPlanItem.objects.values_list("status", flat=True)) == {"CANCELLED"}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"tooth": None, "surfaces": ["O"], "procedureId": "cleaning"},
            [("surfaces", "INVALID_SURFACE")],
        ),
        ({"phase": 40000}, [("phase", "INVALID_SEQUENCE")]),
        ({"sequence": 0}, [("sequence", "INVALID_SEQUENCE")]),
    ],
)
def test_item_surfaces_and_sequence_are_validated(client, world, fields, expected):
    plan = new_plan(client, world)
    if fields.get("procedureId") == "cleaning":
        fields = {**fields, "procedureId": global_id("Procedure", world["cleaning"].pk)}
    payload = add(client, world, plan, **fields)
    assert [(m["field"], m["code"]) for m in payload["messages"]] == expected


def test_completing_with_a_bad_date_is_refused(client, world):
    plan = new_plan(client, world)
    item = add(client, world, plan)
    run(client, world["token"], STATUS, id=plan["id"], status="PRESENTED")
    run(client, world["token"], STATUS, id=plan["id"], status="ACCEPTED")
    query = "mutation($id: ID!, $at: DateTime) { completeTreatmentPlanItem(id: $id, input: {performedAt: $at}) { __typename ... on OperationInfo { messages { code field } } } }"
    payload = run(client, world["token"], query, id=item["id"], at=lima(MONDAY, 10).isoformat())
    assert payload["messages"] == [{"code": "INVALID_DATE", "field": "performedAt"}]
    with tenant_context(world["clinic"]):
        assert not PerformedProcedure.objects.exists()


def test_a_procedure_update_with_a_null_category_keeps_its_category(
    client, world, make_staff, token_for
):
    """`category: null` is no category to set (the column cannot be empty): the rest of the
    update applies and the category stays. It used to fail with INTERNAL_ERROR (found by the
    fuzzer, tests/fuzz)."""
    admin = make_staff(world["clinic"], Role.ADMIN)
    result = run(
        client,
        token_for(world["clinic"], admin),
        'mutation($id: ID!) { updateProcedure(id: $id, input: {name: "Resina compuesta",'
        " category: null}) { __typename ... on Procedure { name category } } }",
        id=global_id("Procedure", world["resin"].pk),
    )
    assert result == {
        "__typename": "Procedure",
        "name": "Resina compuesta",
        "category": "RESTORATIVE",
    }


COMPLETE_WITH = """
mutation($id: ID!, $input: CompleteItemInput) {
  completeTreatmentPlanItem(id: $id, input: $input) {
    __typename ... on TreatmentPlanItem { status } ... on OperationInfo { messages { code field } }
  }
}
"""


def _accepted_item(client, world):
    plan = new_plan(client, world)
    item = add(client, world, plan)
    run(client, world["token"], STATUS, id=plan["id"], status="PRESENTED")
    run(client, world["token"], STATUS, id=plan["id"], status="ACCEPTED")
    return item


def test_completing_with_another_patients_appointment_is_refused(client, world):
    """Killed mutant (docs/testing.md, plan-transitions): ``appointment.patient_id !=
    plan.patient_id`` turned into ``==`` let another patient's visit record this plan's work."""
    from backend.resources.models import Chair
    from backend.scheduling.models import Appointment

    item = _accepted_item(client, world)
    with tenant_context(world["clinic"]):
        other = Patient.objects.create(
            first_name="Ana", last_name="Otra", document_type="DNI", document_number="87654321"
        )
        chair = Chair.objects.create(name="Sillón 1")
        visit = Appointment.objects.create(
            patient=other, professional=world["professional"], chair=chair,
            starts_at=lima(MONDAY, 9), ends_at=lima(MONDAY, 9, 30),
        )  # fmt: skip
    payload = run(
        client, world["token"], COMPLETE_WITH, id=item["id"],
        input={"appointmentId": global_id("Appointment", visit.pk)},
    )  # fmt: skip
    assert payload["messages"] == [{"code": "WRONG_PATIENT", "field": "appointmentId"}]
    with tenant_context(world["clinic"]):
        assert not PerformedProcedure.objects.exists()


@pytest.mark.parametrize(
    ("days_ago", "accepted"),
    [(30.5, True), (1, True), (31.5, False), (-0.05, False)],
)
def test_a_procedure_may_be_recorded_as_done_up_to_31_days_back_never_ahead(
    client, world, days_ago, accepted
):
    """Killed mutants (docs/testing.md, plan-transitions): the 31-day window's ``-`` as ``+``,
    31 as 30 or 32, and ``tzinfo is None`` flipped. (Exactly at its bounds, to the
    microsecond, the API cannot aim: those two comparison mutants are kept.)"""
    import datetime as dt

    from django.utils import timezone

    item = _accepted_item(client, world)
    at = timezone.now() - dt.timedelta(days=days_ago)
    payload = run(
        client, world["token"], COMPLETE_WITH, id=item["id"], input={"performedAt": at.isoformat()}
    )
    with tenant_context(world["clinic"]):
        done = PerformedProcedure.objects.count()
    if accepted:
        assert payload == {"__typename": "TreatmentPlanItem", "status": "DONE"}
        assert done == 1
    else:
        assert payload["messages"] == [{"code": "INVALID_DATE", "field": "performedAt"}]
        assert done == 0

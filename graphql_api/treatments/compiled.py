"""Compiled reads of treatment plans (graphql_api/core/compiled): a patient's plans and one
plan, with their items (clinical: the field's own permission runs per request), procedures and
exact totals. Each declaration computes what the field's resolver in ``types.py`` answers.

Money is exact in both: the columns are ``numeric(10, 2)``, PostgreSQL's ``sum`` and ``-`` of
them are exact with scale 2 (``Decimal`` arithmetic on the same values gives the same digits
and exponent), and ``round(coalesce(sum(...), 0), 2)`` is ``money(sum(..., Decimal(0)))``:
``0.00`` for no items, the exact sum otherwise (it has two places already, so no rounding
happens on either side). ``numeric::text`` is ``str(Decimal)`` for these values: two places,
never an exponent.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Field, QuerySet
from strawberry import relay

from backend.clinical.models import FindingCondition, Material
from backend.patients import selectors as patient_selectors
from backend.treatments import models, selectors
from backend.treatments.models import Category, ItemStatus, PlanStatus
from graphql_api.core.compiled import sql
from graphql_api.core.compiled.coverage import (
    ArrayColumn,
    Checked,
    Column,
    Computed,
    DateTime,
    Derived,
    EnumName,
    Forward,
    Many,
    NodeId,
    cover,
    cover_connection,
    cover_single,
)
from graphql_api.core.ids import decode_id
from graphql_api.treatments.types import Procedure, TreatmentPlan, TreatmentPlanItem


def _totals(total: str) -> Computed:
    """One of ``plan_totals`` (backend/treatments/selectors.py) over the plan's items that are
    not cancelled: ``total`` over ``gross``, ``discounts`` and ``done`` (each rounded to the
    cent as ``money`` rounds it), as its text."""
    items = models.TreatmentPlanItem._meta
    table = sql.identifier(items.db_table)

    def column(name: str) -> str:
        field = items.get_field(name)
        assert isinstance(field, Field)
        assert field.column is not None
        return sql.column("i", field.column)

    counted = f"{column('status')} <> {sql.literal(ItemStatus.CANCELLED.value)}"
    done = f"{column('status')} = {sql.literal(ItemStatus.DONE.value)}"

    def expression(plan: str) -> str:
        return (
            f"(SELECT ({total})::text FROM (SELECT "
            f"round(coalesce(sum({column('price')}) FILTER (WHERE {counted}), 0), 2) AS gross, "
            f"round(coalesce(sum({column('discount')}) FILTER (WHERE {counted}), 0), 2) "
            "AS discounts, "
            f"round(coalesce(sum({column('price')} - {column('discount')}) "
            f"FILTER (WHERE {counted} AND {done}), 0), 2) AS done "
            f"FROM {table} i WHERE {column('plan')} = {plan}) s)"
        )

    return Computed(["id"], expression)


cover(
    Procedure,
    models.Procedure,
    id=NodeId(),
    code=Column("code"),
    name=Column("name"),
    category=EnumName("category", Category),
    default_price=Column("default_price", as_text=True),
    currency=Column("currency"),
    default_duration_minutes=Column("default_duration_minutes"),
    requires_tooth=Column("requires_tooth"),
    result_condition=EnumName("result_condition", FindingCondition, blank_is_null=True),
    result_material=EnumName("result_material", Material, blank_is_null=True),
    is_active=Column("is_active"),
)
cover(
    TreatmentPlanItem,
    models.TreatmentPlanItem,
    id=NodeId(),
    procedure=Forward("procedure"),
    tooth=Column("tooth"),
    surfaces=ArrayColumn("surfaces"),
    price=Column("price", as_text=True),
    discount=Column("discount", as_text=True),
    net=Computed(["price", "discount"], lambda price, discount: f"({price} - {discount})::text"),
    phase=Column("phase"),
    sequence=Column("sequence"),
    status=EnumName("status", ItemStatus),
)
cover(
    TreatmentPlan,
    models.TreatmentPlan,
    id=NodeId(),
    title=Column("title"),
    status=EnumName("status", PlanStatus),
    patient=Forward("patient"),
    dentist=Forward("dentist"),
    currency=Column("currency"),
    created_at=DateTime("created_at"),
    updated_at=DateTime("updated_at"),
    totals=Derived(
        {
            "gross": _totals("s.gross"),
            "discounts": _totals("s.discounts"),
            "net": _totals("s.gross - s.discounts"),
            "done": _totals("s.done"),
            "remaining": _totals("s.gross - s.discounts - s.done"),
        }
    ),
    items=Checked(Many("items")),
)


def _patient_pk(patient_id: relay.GlobalID) -> int:
    return int(decode_id(patient_id, "Patient", field="patient_id"))


def _plans(
    info: Any, patient_id: relay.GlobalID | None = None, status: list[PlanStatus] | None = None
) -> QuerySet[models.TreatmentPlan]:
    """What the ``treatmentPlans`` resolver pages, without its lookup of the patient (that is
    the ``requires``)."""
    return selectors.plan_list(
        actor=info.context.require_user(),
        patient_id=_patient_pk(patient_id) if patient_id else None,
        statuses=[s.value for s in status] if status else None,
    )


def _patient(info: Any, patient_id: relay.GlobalID | None = None, **_: Any) -> QuerySet[Any] | None:
    """The patient the resolver looks up (its ``NOT_FOUND`` when there is none), if any."""
    if not patient_id:
        return None
    return patient_selectors.patient_rows(patient_id=_patient_pk(patient_id))


cover_connection(
    "treatment_plans", arguments=("patient_id", "status"), rows=_plans, requires=_patient
)
cover_single(
    "treatment_plan",
    lambda info, id: selectors.plan_rows(
        actor=info.context.require_user(), plan_id=decode_id(id, "TreatmentPlan")
    ),
    arguments=("id",),
)

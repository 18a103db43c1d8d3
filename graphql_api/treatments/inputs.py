"""Catalog and plan inputs. Amounts are Decimal strings ("120.50"), in PEN."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry
from strawberry import relay

from graphql_api.clinical.types import FindingCondition, Material
from graphql_api.treatments.types import Category


@strawberry.input(description="A procedure of the clinic's catalog.")
class ProcedureInput:
    code: str
    name: str
    category: Category
    default_price: Decimal
    default_duration_minutes: int = 30
    requires_tooth: bool = False
    result_condition: FindingCondition | None = None
    result_material: Material | None = None


@strawberry.input(description="Changes to a procedure; fields left out stay.")
class UpdateProcedureInput:
    name: str | None = strawberry.UNSET
    category: Category | None = strawberry.UNSET
    default_price: Decimal | None = strawberry.UNSET
    default_duration_minutes: int | None = strawberry.UNSET


@strawberry.input(description="A new treatment plan of a patient, by a dentist.")
class TreatmentPlanInput:
    patient_id: relay.GlobalID
    dentist_id: relay.GlobalID
    title: str


@strawberry.input(description="A plan item. Price defaults to the catalog's; give a discount "
                  "amount or a percentage (rounded half up to the cent).")  # fmt: skip
class PlanItemInput:
    procedure_id: relay.GlobalID
    tooth: int | None = None
    surfaces: list[str] = strawberry.field(default_factory=list)
    price: Decimal | None = None
    discount: Decimal | None = None
    discount_percent: Decimal | None = None
    phase: int = 1
    sequence: int = 1


@strawberry.input(
    description="How a plan item was done: at which appointment, when (default: now)."
)
class CompleteItemInput:
    appointment_id: relay.GlobalID | None = None
    performed_at: dt.datetime | None = None

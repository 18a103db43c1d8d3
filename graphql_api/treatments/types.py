"""Catalog and treatment plan types. Money is Decimal with its currency."""

from __future__ import annotations

from decimal import Decimal

import strawberry
import strawberry_django
from strawberry import relay

from backend.clinical.permissions import ClinicalPermission
from backend.treatments import models
from backend.treatments.models import Category, ItemStatus, PlanStatus
from backend.treatments.selectors import plan_totals
from graphql_api.clinical.types import FindingCondition, Material
from graphql_api.core.docstrings import django_type, graphql_type
from graphql_api.core.permissions import clinic_permission
from graphql_api.patients.types import Patient
from graphql_api.resources.types import Professional

# The models' choices are the GraphQL enums: one source for their names and values.
strawberry.enum(Category, description="The kind of a catalog procedure.")
strawberry.enum(
    PlanStatus,
    description="DRAFT → PRESENTED → ACCEPTED | REJECTED, then IN_PROGRESS → COMPLETED.",
)
strawberry.enum(ItemStatus, description="Where a plan item stands: planned, done or cancelled.")


@django_type(models.Procedure)
class Procedure(relay.Node):
    """A procedure of the clinic's catalog."""

    code: strawberry.auto
    name: strawberry.auto

    @strawberry_django.field(only=["category"])
    def category(self, root: models.Procedure) -> Category:
        return Category(root.category)

    default_price: Decimal
    currency: strawberry.auto
    default_duration_minutes: strawberry.auto
    requires_tooth: strawberry.auto

    @strawberry_django.field(only=["result_condition"])
    def result_condition(self, root: models.Procedure) -> FindingCondition | None:
        return FindingCondition(root.result_condition) if root.result_condition else None

    @strawberry_django.field(only=["result_material"])
    def result_material(self, root: models.Procedure) -> Material | None:
        return Material(root.result_material) if root.result_material else None

    is_active: strawberry.auto


@django_type(models.TreatmentPlanItem)
class TreatmentPlanItem(relay.Node):
    """One procedure of a plan."""

    procedure: Procedure
    tooth: int | None
    surfaces: list[str]
    price: Decimal
    discount: Decimal

    @strawberry_django.field(only=["price", "discount"], description="Price minus discount.")
    def net(self, root: models.TreatmentPlanItem) -> Decimal:
        return root.net

    phase: strawberry.auto
    sequence: strawberry.auto

    @strawberry_django.field(only=["status"])
    def status(self, root: models.TreatmentPlanItem) -> ItemStatus:
        return ItemStatus(root.status)


@graphql_type
class PlanTotals:
    """Exact totals of the items that are not cancelled."""

    gross: Decimal
    discounts: Decimal
    net: Decimal
    done: Decimal
    remaining: Decimal


@django_type(models.TreatmentPlan)
class TreatmentPlan(relay.Node):
    """A plan of treatment. Everyone may see its status and totals; its items are clinical."""

    title: strawberry.auto

    @strawberry_django.field(only=["status"])
    def status(self, root: models.TreatmentPlan) -> PlanStatus:
        return PlanStatus(root.status)

    patient: Patient
    dentist: Professional
    currency: strawberry.auto
    created_at: strawberry.auto
    updated_at: strawberry.auto

    @strawberry_django.field(
        prefetch_related=["items"], description="Gross, discounts, net, done, remaining."
    )
    def totals(self, root: models.TreatmentPlan) -> PlanTotals:
        return PlanTotals(**plan_totals(list(root.items.all())).__dict__)

    items: list[TreatmentPlanItem] = strawberry_django.field(
        extensions=clinic_permission(ClinicalPermission.VIEW_CLINICAL),
        description="The procedures, tooth by tooth (clinical: not for the front desk).",
    )

"""A clinic and its plan, as the clinic itself sees them (``currentClinic``); the platform's
view of a clinic (``graphql_api/platform``) extends these."""

from __future__ import annotations

import strawberry
import strawberry_django

from graphql_api.branding.types import ClinicLogo, clinic_logo
from graphql_api.core.context import Info
from graphql_api.core.docstrings import django_type
from graphql_api.core.money import Money
from tenants_core import models
from tenants_core.models import ClinicStatus, PlanCode

# The models' choices are the GraphQL enums: one source for their names and values.
strawberry.enum(PlanCode, description="Subscription plans.")
strawberry.enum(ClinicStatus, description="Whether a clinic can use the service.")


@django_type(models.Plan)
class Plan:
    """A subscription plan and the limits it gives a clinic."""

    name: strawberry.auto
    max_users: int
    max_patients: int

    @strawberry_django.field(only=["code"])
    def code(self, root: models.Plan) -> PlanCode:
        return PlanCode(root.code)

    @strawberry_django.field(
        only=["monthly_price", "currency"], description="Price per month, before taxes."
    )
    def monthly_price(self, root: models.Plan) -> Money:
        return Money(amount=root.monthly_price, currency=root.currency)


@django_type(models.Clinic)
class Clinic:
    """A dental clinic: its own schema, reached at its subdomain."""

    name: strawberry.auto
    subdomain: strawberry.auto
    timezone: str = strawberry_django.field(description="IANA time zone, e.g. America/Lima.")
    restrict_notes_to_author: bool = strawberry_django.field(
        description="Clinical notes are read only by their author and admins."
    )
    created_at: strawberry.auto
    plan: Plan

    @strawberry_django.field(only=["status"])
    def status(self, root: models.Clinic) -> ClinicStatus:
        return ClinicStatus(root.status)

    @strawberry_django.field(
        only=["max_users_override", "plan__max_users"],
        description="Active staff users allowed: the clinic's override, else the plan's.",
    )
    def max_users(self, root: models.Clinic) -> int:
        return root.max_users

    @strawberry_django.field(
        only=["max_patients_override", "plan__max_patients"],
        description="Patients allowed: the clinic's override, else the plan's.",
    )
    def max_patients(self, root: models.Clinic) -> int:
        return root.max_patients

    @strawberry_django.field(
        only=["schema_name"],
        description=(
            "The clinic's logo, public (no token); null when it has none, and on the"
            " platform's domain."
        ),
    )
    def logo(self, root: models.Clinic, info: Info) -> ClinicLogo | None:
        return clinic_logo(root, info)

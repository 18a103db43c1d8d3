"""A clinic and its plan, as the clinic itself sees them (``currentClinic``); the platform's
view of a clinic (``graphql_api/platform``) extends ``ClinicBase``, without the fields read
from the clinic's own schema (its profile, hours and closures)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo

import strawberry
import strawberry_django
from django.core.exceptions import ValidationError
from django.utils import timezone as django_timezone
from django.utils.translation import gettext as _

from backend.clinic_admin import selectors as clinic_admin
from backend.clinic_admin.errors import ClinicAdminError
from graphql_api.branding.types import ClinicLogo, clinic_logo
from graphql_api.clinic_admin.types import ClinicClosure, ClinicProfile, OpeningShift
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
class ClinicBase:
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


# Days of closures one request may list.
CLOSURE_LIST_DAYS = 3 * 366


@django_type(models.Clinic)
class Clinic(ClinicBase):
    """A dental clinic: its own schema, reached at its subdomain. Its profile, hours and
    closures are public on its domain (the login page shows them)."""

    legal_id: str = strawberry_django.field(description="RUC (11 digits); read-only.")

    @strawberry_django.field(only=[], description="Address, contact and defaults.")
    def profile(self, root: models.Clinic) -> ClinicProfile:
        return clinic_admin.clinic_profile_get()  # type: ignore[return-value]

    @strawberry_django.field(
        only=[],
        description="Weekly opening hours, Monday first. Empty: the clinic sets no hours "
        "(its professionals' hours alone decide).",
    )
    def opening_hours(self, root: models.Clinic) -> list[OpeningShift]:
        return list(clinic_admin.opening_shift_list())  # type: ignore[arg-type]

    @strawberry_django.field(
        only=[],
        description="Closures that touch the days [from, to] (default: from today, "
        "clinic-local, for the next 365 days); at most three years at a time.",
    )
    def closures(
        self,
        root: models.Clinic,
        from_: Annotated[dt.date | None, strawberry.argument(name="from")] = None,
        to: dt.date | None = None,
    ) -> list[ClinicClosure]:
        since = from_ or django_timezone.localdate(timezone=ZoneInfo(root.timezone))
        if not all(1900 <= day.year <= 2200 for day in (since, to or since)):
            raise ValidationError(
                {"from": ValidationError(
                    _("Give dates between the years 1900 and 2200."),
                    code=ClinicAdminError.INVALID_DATE_RANGE)}
            )  # fmt: skip
        until = to or since + dt.timedelta(days=365)
        if until < since or (until - since).days > CLOSURE_LIST_DAYS:
            raise ValidationError(
                {"to": ValidationError(
                    _("Give a range of at most three years, `to` after `from`."),
                    code=ClinicAdminError.INVALID_DATE_RANGE)}
            )  # fmt: skip
        return list(clinic_admin.clinic_closure_list(since=since, until=until))  # type: ignore[arg-type]

    @strawberry_django.field(
        only=["schema_name"],
        description="The clinic's logo, public (no token); null when it has none.",
    )
    def logo(self, root: models.Clinic, info: Info) -> ClinicLogo | None:
        return clinic_logo(info)

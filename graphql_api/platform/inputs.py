"""Inputs of platform operations."""

from __future__ import annotations

import strawberry

from graphql_api.clinic_settings.types import PlanCode


@strawberry.input(description="A new clinic and its first admin user.")
class CreateClinicInput:
    subdomain: str = strawberry.field(description="Lowercase DNS label, 3 to 63 characters.")
    name: str
    legal_id: str = strawberry.field(description="The clinic's RUC (11 digits).")
    email: str
    plan: PlanCode
    admin_email: str
    admin_password: str
    timezone: str = strawberry.field(default="America/Lima", description="IANA time zone.")

"""Inputs of staff management."""

from __future__ import annotations

import strawberry

from graphql_api.accounts.types import Role


@strawberry.input(description="A new staff user of the clinic.")
class CreateStaffUserInput:
    email: str
    full_name: str
    role: Role
    password: str = strawberry.field(description="Checked by the password validators.")

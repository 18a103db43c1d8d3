"""Compiled reads of staff as records show them (graphql_api/core/compiled)."""

from __future__ import annotations

from backend.accounts import models
from backend.accounts.models import Role
from graphql_api.accounts.types import StaffMember
from graphql_api.core.compiled.coverage import Column, EnumName, NodeId, cover

cover(
    StaffMember,
    models.User,
    id=NodeId(),
    full_name=Column("full_name"),
    role=EnumName("role", Role, blank_is_null=True),
)

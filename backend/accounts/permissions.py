"""Permissions of staff management, and the grant type every domain uses for its rows of
the permission matrix (``backend.accounts.roles``)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from backend.accounts.models import Role
from backend.audit.permissions import AuditPermission


@dataclass(frozen=True)
class Grant:
    """One row of the permission matrix: which roles hold a permission."""

    permission: StrEnum
    roles: frozenset[Role]
    description: str


class StaffPermission(StrEnum):
    VIEW_STAFF = "staff.view"
    MANAGE_STAFF = "staff.manage"
    MANAGE_SETTINGS = "clinic.manage_settings"


GRANTS = (
    Grant(StaffPermission.VIEW_STAFF, frozenset({Role.ADMIN}), "List the clinic's staff"),
    Grant(
        StaffPermission.MANAGE_STAFF,
        frozenset({Role.ADMIN}),
        "Create staff users, change their role, deactivate them",
    ),
    Grant(
        StaffPermission.MANAGE_SETTINGS,
        frozenset({Role.ADMIN}),
        "Change the clinic's settings, profile, opening hours, closures and logo",
    ),
    # The audit app's row: it sits below accounts and knows no role.
    Grant(AuditPermission.VIEW_AUDIT, frozenset({Role.ADMIN}), "Read the clinic's audit trail"),
)

"""Permissions of professionals and chairs."""

from enum import StrEnum

from backend.accounts.models import Role
from backend.accounts.permissions import Grant


class ResourcePermission(StrEnum):
    VIEW_RESOURCES = "resources.view"
    MANAGE_RESOURCES = "resources.manage"


GRANTS = (
    Grant(
        ResourcePermission.VIEW_RESOURCES,
        frozenset(Role),
        "See professionals, their hours and time off, and chairs",
    ),
    Grant(
        ResourcePermission.MANAGE_RESOURCES,
        frozenset({Role.ADMIN, Role.RECEPTIONIST}),
        "Create, update and deactivate professionals and chairs; manage time off",
    ),
)

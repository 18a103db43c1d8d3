"""Permissions of the catalog and treatment plans."""

from enum import StrEnum

from backend.accounts.models import Role
from backend.accounts.permissions import Grant


class TreatmentPermission(StrEnum):
    VIEW_CATALOG = "catalog.view"
    MANAGE_CATALOG = "catalog.manage"
    VIEW_PLAN_SUMMARY = "plans.view_summary"
    MANAGE_PLANS = "plans.manage"


GRANTS = (
    Grant(
        TreatmentPermission.VIEW_CATALOG, frozenset(Role), "See the procedure catalog and prices"
    ),
    Grant(
        TreatmentPermission.MANAGE_CATALOG,
        frozenset({Role.ADMIN}),
        "Add, change and deactivate procedures",
    ),
    Grant(
        TreatmentPermission.VIEW_PLAN_SUMMARY,
        frozenset(Role),
        "See treatment plans' status and financial summary (items need clinical.view)",
    ),
    Grant(
        TreatmentPermission.MANAGE_PLANS,
        frozenset({Role.ADMIN, Role.DENTIST}),
        "Draft, present and decide plans; complete their items",
    ),
)

"""Permissions of the clinic's reports."""

from enum import StrEnum

from backend.accounts.models import Role
from backend.accounts.permissions import Grant


class ReportPermission(StrEnum):
    VIEW_DASHBOARD = "reports.dashboard"


GRANTS = (
    Grant(
        ReportPermission.VIEW_DASHBOARD,
        frozenset({Role.ADMIN}),
        "See the clinic dashboard: appointments and no-shows, production by professional and "
        "procedure, new and returning patients, collections, balances owed and chair "
        "occupancy. Admins only: it ranks colleagues (production, no-show rates) and sums "
        "the clinic's money, which running one's own agenda or the till does not need",
    ),
)

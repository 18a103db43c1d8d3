"""Reading the clinic dashboard."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from backend.reports import selectors
from backend.reports.permissions import ReportPermission
from graphql_api.core.context import Info
from graphql_api.core.permissions import clinic_permission
from graphql_api.dashboard.types import ClinicDashboard, dashboard_type


@strawberry.type
class Query:
    @strawberry.field(
        extensions=clinic_permission(ReportPermission.VIEW_DASHBOARD),
        description="The clinic dashboard for local days `from` to `to` (inclusive, at most "
        "366): appointments by status and no-shows by professional, production, new and "
        "returning patients, collections, outstanding balances and chair occupancy. "
        "INVALID_DATE_RANGE when `to` is before `from`, the range is longer, or a date is "
        "outside 2000–2100.",
    )
    def clinic_dashboard(
        self, info: Info, from_: Annotated[dt.date, strawberry.argument(name="from")], to: dt.date
    ) -> ClinicDashboard:
        return dashboard_type(
            selectors.clinic_dashboard(
                actor=info.context.require_user(), date_from=from_, date_to=to
            )
        )

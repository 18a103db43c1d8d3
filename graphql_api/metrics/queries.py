"""Platform metrics: public domain, superusers only; read the rollup's public tables only."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from backend.metrics import selectors
from graphql_api.core.context import Info
from graphql_api.core.permissions import platform_admin
from graphql_api.metrics.types import ClinicDayMetrics, PlatformMetrics, platform_metrics_from


@strawberry.type
class Query:
    @strawberry.field(
        extensions=platform_admin(),
        description="A clinic's daily metrics, one entry per day of the range (at most 366 "
        "days); a day the rollup has not computed has null figures.",
    )
    def clinic_metrics(
        self,
        info: Info,
        subdomain: str,
        from_: Annotated[dt.date, strawberry.argument(name="from")],
        to: dt.date,
    ) -> list[ClinicDayMetrics]:
        entries = selectors.clinic_metrics(subdomain=subdomain, date_from=from_, date_to=to)
        return [ClinicDayMetrics.from_entry(entry) for entry in entries]

    @strawberry.field(
        extensions=platform_admin(),
        description="The platform's figures for a range of days (at most 366), America/Lima.",
    )
    def platform_metrics(
        self,
        info: Info,
        from_: Annotated[dt.date, strawberry.argument(name="from")],
        to: dt.date,
    ) -> PlatformMetrics:
        return platform_metrics_from(selectors.platform_metrics(date_from=from_, date_to=to))

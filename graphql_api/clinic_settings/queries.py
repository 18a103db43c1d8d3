"""Queries about the clinic the request is addressed to."""

from __future__ import annotations

import strawberry

from graphql_api.clinic_settings.types import Clinic
from graphql_api.core.context import Info
from graphql_api.core.permissions import tenant_only


@strawberry.type
class Query:
    @strawberry.field(
        extensions=tenant_only(),
        description="The clinic this domain belongs to.",
    )
    def current_clinic(self, info: Info) -> Clinic:
        return info.context.tenant

"""Reading professionals and chairs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, cast

import strawberry
import strawberry_django
from strawberry import relay

from backend.resources import models, selectors
from backend.resources.permissions import ResourcePermission
from graphql_api.core.context import Info
from graphql_api.core.ids import decode_id
from graphql_api.core.pagination import ListConnection
from graphql_api.core.permissions import clinic_permission
from graphql_api.resources.types import Chair, Professional

VIEW = ResourcePermission.VIEW_RESOURCES
ACTIVE_ONLY = strawberry.argument(description="Leave the deactivated ones out.")


@strawberry.type
class Query:
    @strawberry_django.field(
        extensions=clinic_permission(VIEW), description="One professional, active or not."
    )
    def professional(self, info: Info, id: relay.GlobalID) -> Professional:
        return cast(
            Professional, selectors.professional_get(professional_id=decode_id(id, "Professional"))
        )

    @strawberry_django.connection(
        ListConnection[Professional],
        extensions=clinic_permission(VIEW),
        description="Professionals, by name.",
    )
    def professionals(
        self, info: Info, active_only: Annotated[bool, ACTIVE_ONLY] = False
    ) -> Iterable[models.Professional]:
        return selectors.professional_list(active_only=active_only)

    @strawberry_django.field(
        extensions=clinic_permission(VIEW), description="One chair, active or not."
    )
    def chair(self, info: Info, id: relay.GlobalID) -> Chair:
        return cast(Chair, selectors.chair_get(chair_id=decode_id(id, "Chair")))

    @strawberry_django.connection(
        ListConnection[Chair],
        extensions=clinic_permission(VIEW),
        description="Chairs, by name.",
    )
    def chairs(
        self, info: Info, active_only: Annotated[bool, ACTIVE_ONLY] = False
    ) -> Iterable[models.Chair]:
        return selectors.chair_list(active_only=active_only)

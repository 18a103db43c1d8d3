"""Who am I, and the clinic's staff."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import strawberry
import strawberry_django

from backend.accounts import selectors
from backend.accounts.models import User
from backend.accounts.permissions import StaffPermission
from graphql_api.accounts.types import StaffUser
from graphql_api.core.context import Info
from graphql_api.core.pagination import ListConnection
from graphql_api.core.permissions import clinic_permission, signed_in


@strawberry.type
class Query:
    @strawberry.field(extensions=signed_in(), description="The signed-in user.")
    def me(self, info: Info) -> StaffUser:
        return cast(StaffUser, info.context.require_user())

    @strawberry_django.connection(
        ListConnection[StaffUser],
        extensions=clinic_permission(StaffPermission.VIEW_STAFF),
        description="The clinic's staff, by name.",
    )
    def staff(self, info: Info, search: str | None = None) -> Iterable[User]:
        return selectors.staff_list(actor=info.context.require_user(), search=search)

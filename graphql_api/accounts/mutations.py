"""Signing in and out, and staff management."""

from __future__ import annotations

from typing import Annotated, cast

import strawberry
import strawberry_django
from strawberry import relay

from backend.accounts import auth, selectors, services
from backend.accounts.permissions import StaffPermission
from graphql_api.accounts.inputs import CreateStaffUserInput
from graphql_api.accounts.types import AuthToken, Role, StaffUser
from graphql_api.core.context import Info
from graphql_api.core.ids import decode_id
from graphql_api.core.permissions import clinic_permission, signed_in


def _staff_user(info: Info, global_id: relay.GlobalID):
    return selectors.staff_user_get(
        actor=info.context.require_user(), user_id=decode_id(global_id, "StaffUser")
    )


@strawberry.type
class Mutation:
    @strawberry_django.mutation(
        handle_django_errors=True,
        description="Sign in on this domain: a clinic's staff on its subdomain, platform "
        "operators on the platform's domain.",
    )
    def login(
        self,
        info: Info,
        email: Annotated[str, strawberry.argument(description="The user's email, any case.")],
        password: Annotated[str, strawberry.argument(description="The user's password.")],
    ) -> AuthToken:
        issued = auth.auth_login(email=email, password=password)
        return AuthToken(
            token=issued.raw,
            expires_at=issued.token.expires_at,
            user=cast(StaffUser, issued.token.user),
        )

    @strawberry.mutation(extensions=signed_in(), description="Revoke the token of this request.")
    def logout(self, info: Info) -> bool:
        token = info.context.token
        assert token is not None  # signed_in() ran first
        auth.auth_logout(token=token)
        return True

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(StaffPermission.MANAGE_STAFF),
        description="Create a staff user. Counts against the plan's user limit.",
    )
    def create_staff_user(self, info: Info, input: CreateStaffUserInput) -> StaffUser:
        return cast(
            "StaffUser",
            services.staff_user_create(
                actor=info.context.require_user(),
                email=input.email,
                full_name=input.full_name,
                role=input.role,
                password=input.password,
            ),
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(StaffPermission.MANAGE_STAFF),
        description="Change a staff user's role. The last active admin cannot be demoted.",
    )
    def change_staff_role(self, info: Info, id: relay.GlobalID, role: Role) -> StaffUser:
        return cast(
            "StaffUser",
            services.staff_role_change(
                actor=info.context.require_user(),
                user=_staff_user(info, id),
                role=role,
            ),
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(StaffPermission.MANAGE_STAFF),
        description="Deactivate a staff user and revoke their tokens. The last active admin "
        "cannot be deactivated.",
    )
    def deactivate_staff_user(self, info: Info, id: relay.GlobalID) -> StaffUser:
        return cast(
            "StaffUser",
            services.staff_user_deactivate(
                actor=info.context.require_user(), user=_staff_user(info, id)
            ),
        )

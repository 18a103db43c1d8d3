"""The clinic's own settings, for its admins."""

from __future__ import annotations

import strawberry
import strawberry_django

from backend.accounts.permissions import StaffPermission
from graphql_api.clinic_settings.types import Clinic
from graphql_api.core.context import Info
from graphql_api.core.permissions import clinic_permission
from tenants_core import services


@strawberry.type
class Mutation:
    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(StaffPermission.MANAGE_SETTINGS),
        description="Change the clinic's settings.",
    )
    def update_clinic_settings(self, info: Info, restrict_notes_to_author: bool) -> Clinic:
        return services.clinic_settings_update(
            actor=info.context.require_user(),
            clinic=info.context.tenant,
            restrict_notes_to_author=restrict_notes_to_author,
        )

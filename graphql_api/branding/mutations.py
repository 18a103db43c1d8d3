"""Uploading and removing the clinic's logo: its admins (``clinic.manage_settings``)."""

from __future__ import annotations

import strawberry
import strawberry_django
from strawberry.file_uploads import Upload

from backend.accounts.permissions import StaffPermission
from backend.branding import services
from graphql_api.branding.types import ClinicLogo, logo_type
from graphql_api.clinic_settings.types import Clinic
from graphql_api.core.context import Info
from graphql_api.core.permissions import clinic_permission
from graphql_api.core.uploads import upload_read


@strawberry.type
class Mutation:
    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(StaffPermission.MANAGE_SETTINGS),
        description=(
            "Set the clinic's logo from an uploaded PNG, JPEG or WebP of at most 2 MB (a"
            " multipart request). It is re-encoded as PNG at 512 and 128 px; the old one's"
            " URLs stop answering."
        ),
    )
    def upload_clinic_logo(self, info: Info, file: Upload) -> ClinicLogo:
        uploaded = upload_read(file, max_bytes=services.LOGO_MAX_BYTES)
        logo = services.logo_set(
            actor=info.context.require_user(), content=uploaded.content, name=uploaded.name
        )
        return logo_type(logo, info)

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(StaffPermission.MANAGE_SETTINGS),
        description="Remove the clinic's logo (NOT_FOUND when it has none).",
    )
    def remove_clinic_logo(self, info: Info) -> Clinic:
        services.logo_remove(actor=info.context.require_user())
        return info.context.tenant

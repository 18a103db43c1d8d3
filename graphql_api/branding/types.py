"""The clinic's logo as clients read it: absolute URLs on the clinic's own domain."""

from __future__ import annotations

import strawberry

from backend.branding.models import LARGE, SIZES
from backend.branding.models import ClinicLogo as ClinicLogoModel
from backend.branding.selectors import logo_get, logo_path
from graphql_api.core.context import Info
from graphql_api.core.docstrings import graphql_type


@graphql_type
class ClinicLogoImage:
    """One stored version of the logo (a PNG), at most ``size`` px on its longer side."""

    size: int = strawberry.field(description="The longest side it was fitted in: 512 or 128.")
    url: str = strawberry.field(
        description="Absolute; public (no token), cached for a year: a new logo has a new URL."
    )
    width: int
    height: int


@graphql_type
class ClinicLogo:
    """The clinic's logo (PNG, re-encoded from the upload without its metadata). ``url``,
    ``width`` and ``height`` are the large version's; ``sizes`` lists every version."""

    url: str = strawberry.field(description="The large version's URL (public, no token).")
    width: int
    height: int
    sizes: list[ClinicLogoImage]


def logo_type(logo: ClinicLogoModel, info: Info) -> ClinicLogo:
    """The logo with URLs built from the request (its scheme and host, as the client used)."""
    request = info.context.request
    sizes = []
    for size in SIZES:
        stored = logo.version(size)
        sizes.append(
            ClinicLogoImage(
                size=size,
                url=request.build_absolute_uri(logo_path(logo, size)),
                width=stored.width or 0,  # set for every image file
                height=stored.height or 0,
            )
        )
    large = sizes[SIZES.index(LARGE)]
    return ClinicLogo(url=large.url, width=large.width, height=large.height, sizes=sizes)


def clinic_logo(info: Info) -> ClinicLogo | None:
    """``Clinic.logo``, on the clinic's own domain (``currentClinic``: the platform's
    ``ManagedClinic`` has no logo field, so no other schema is ever read)."""
    logo = logo_get()
    return logo_type(logo, info) if logo is not None else None

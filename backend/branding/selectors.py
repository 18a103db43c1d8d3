"""Reading the clinic's logo: public, like the clinic's name (no actor)."""

from __future__ import annotations

from django.urls import reverse

from backend.branding.models import LARGE, ClinicLogo

EXTENSIONS = {"image/png": "png", "image/webp": "webp", "image/jpeg": "jpg"}


def logo_get() -> ClinicLogo | None:
    """The current schema's logo with both versions, or None."""
    return ClinicLogo.objects.select_related("large", "small").first()


def logo_public_name(logo: ClinicLogo, size: int = LARGE) -> str:
    """``<sha256>-<size>.<ext>``: the name a version is served under."""
    stored = logo.version(size)
    return f"{logo.sha256}-{size}.{EXTENSIONS[stored.content_type]}"


def logo_path(logo: ClinicLogo, size: int = LARGE) -> str:
    """The version's path on the clinic's domain (``/logo/…``)."""
    return reverse("clinic-logo", kwargs={"name": logo_public_name(logo, size)})

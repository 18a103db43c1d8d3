"""The platform console: Django's admin at ``/console/`` on the platform's own host
(``BASE_DOMAIN``), for platform superusers. See ``backend.console.wrapping`` for how it keeps
its sessions to itself, and ``backend.console.clinics`` for its actions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import django.contrib.admin
from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views.static import serve

from backend.console import clinics, metrics, readonly
from backend.console.forms import ConsoleLoginForm, ConsolePasswordChangeForm
from backend.console.wrapping import console_patterns, on_public_host, public_host_only

ADMIN_STATIC = Path(django.contrib.admin.__file__).resolve().parent / "static"


class ConsoleSite(AdminSite):
    site_header = gettext_lazy("Platform console")
    site_title = gettext_lazy("Platform console")
    index_title = gettext_lazy("Clinics and the platform")
    site_url = None  # the platform has no web site of its own to link to
    login_form = ConsoleLoginForm
    enable_nav_sidebar = False

    def has_permission(self, request: HttpRequest) -> bool:
        """Active platform superusers (the public schema's), on the public host."""
        user = getattr(request, "user", None)
        return bool(
            user is not None and user.is_active and user.is_superuser and on_public_host(request)
        )

    def get_urls(self) -> list[Any]:
        return console_patterns(super().get_urls())

    index_template = "console/index.html"

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """The front page: the platform's figures (``platformMetrics``, last 30 days) above
        the tables."""
        return super().index(request, {**(extra_context or {}), **metrics.platform_summary()})

    def password_change(self, request: HttpRequest, extra_context: Any = None) -> Any:
        """Django's own view and form for the operator's own password, saved through
        ``user_password_change`` (validated, the operator's API tokens revoked, audited)."""
        from django.contrib.auth.views import PasswordChangeView

        request.current_app = self.name
        return PasswordChangeView.as_view(
            form_class=ConsolePasswordChangeForm,
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
        )(request)


# What the console shows, each part registering its own models on the site.
REGISTRARS: list[Callable[[AdminSite], None]] = [
    clinics.register,
    readonly.register,
    metrics.register,
]


def console_site_build() -> ConsoleSite:
    site = ConsoleSite(name="console")
    for register in REGISTRARS:
        register(site)
    return site


console_site = console_site_build()


def _static(request: HttpRequest, path: str) -> Any:
    """The admin's own CSS, JavaScript and icons (no other file), for the console's pages."""
    response = serve(request, path, document_root=str(ADMIN_STATIC))
    response["Cache-Control"] = "public, max-age=86400"
    return response


console_static = public_host_only(_static)

"""Host → clinic routing. Runs first: sets the PostgreSQL schema for the whole request."""

from __future__ import annotations

import logging

from django.core.exceptions import DisallowedHost
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django_tenants.middleware.main import TenantMainMiddleware

from backend.core.responses import json_error
from tenants_core.errors import PlatformError
from tenants_core.models import Domain

logger = logging.getLogger(__name__)


class ClinicTenantMiddleware(TenantMainMiddleware):
    """django-tenants' middleware with JSON answers: an unknown host gets a 404 with
    ``UNKNOWN_HOST`` and a suspended clinic a 403 with ``CLINIC_SUSPENDED``, never an HTML
    page. Nothing of the clinic's schema is touched in either case."""

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        try:
            return self._route(request)
        except (OperationalError, InterfaceError):
            logger.exception("database unavailable while routing %s", request.get_host())
            connection.close_if_unusable_or_obsolete()
            return json_error(
                503,
                "DATABASE_UNAVAILABLE",
                _("The database is unavailable; try again in a moment."),
            )

    def _route(self, request: HttpRequest) -> HttpResponse | None:
        connection.set_schema_to_public()
        # These refusals are answered before LocaleMiddleware runs: pick the language here.
        translation.activate(translation.get_language_from_request(request))
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            return self._unknown_host()
        try:
            tenant = self.get_tenant(Domain, hostname)
        except Domain.DoesNotExist:
            return self._unknown_host()
        if tenant.is_suspended:
            return json_error(
                403,
                PlatformError.CLINIC_SUSPENDED,
                _("This clinic is suspended. Its data is kept; contact the platform."),
            )
        tenant.domain_url = hostname
        request.tenant = tenant  # type: ignore[attr-defined]
        connection.set_tenant(tenant)
        self.setup_url_routing(request)
        return None

    def get_tenant(self, domain_model, hostname):  # type: ignore[no-untyped-def]
        domain = domain_model.objects.select_related("tenant", "tenant__plan").get(domain=hostname)
        return domain.tenant

    @staticmethod
    def _unknown_host() -> HttpResponse:
        return json_error(404, PlatformError.UNKNOWN_HOST, _("No clinic answers at this address."))

"""Host → clinic routing. Runs first: sets the PostgreSQL schema for the whole request."""

from __future__ import annotations

import logging

from django.core.exceptions import DisallowedHost
from django.db import DatabaseError, InterfaceError, connection
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django_tenants.middleware.main import TenantMainMiddleware

from backend.core.error_codes import CommonError
from backend.core.responses import json_error
from backend.core.transactions import (
    TransactionError,
    conflict_refusal,
    database_unavailable,
    is_transaction_conflict,
)
from tenants_core import routing
from tenants_core.errors import PlatformError

logger = logging.getLogger(__name__)


class ClinicTenantMiddleware(TenantMainMiddleware):
    """django-tenants' middleware with JSON answers: an unknown host gets a 404 with
    ``UNKNOWN_HOST`` and a suspended clinic a 403 with ``CLINIC_SUSPENDED``, never an HTML
    page. Nothing of the clinic's schema is touched in either case.

    The host is resolved from this process's routing cache (``tenants_core.routing``): no SQL
    once warm. Choosing the clinic sends nothing either: the request's transaction
    (``request_transaction``) sets the clinic's schema with its first statement
    (``backend.core.db_backend``)."""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return super().__call__(request)
        finally:
            # Nothing of this request's clinic stays selected on the thread's connection: the
            # next work on it (another request, a job) chooses its own schema.
            connection.set_schema_to_public()  # type: ignore[attr-defined]

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        try:
            return self._route(request)
        except (DatabaseError, InterfaceError) as error:  # what the predicates may accept
            response = self._database_refusal(request, error, "routing")
            if response is None:
                raise
            return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # With routing cached, a request's first statement may come from its view: an outage
        # there is still a 503, not a 500.
        return self._database_refusal(request, exception, "serving")

    def _database_refusal(
        self, request: HttpRequest, error: Exception, doing: str
    ) -> HttpResponse | None:
        """503 for an outage; 409 for a deadlock or serialization failure, which is no outage
        (the client's transaction lost a race and was rolled back: try again); None for any
        other error. The same predicates as the GraphQL errors (backend.core.transactions)."""
        if is_transaction_conflict(error):
            logger.warning("transaction conflict while %s %s", doing, request.get_host())
            message = conflict_refusal().messages[0]
            return json_error(409, TransactionError.CONCURRENT_UPDATE, message)
        if database_unavailable(error):
            logger.exception("database unavailable while %s %s", doing, request.get_host())
            return self._database_unavailable()
        return None

    def _route(self, request: HttpRequest) -> HttpResponse | None:
        # Until a clinic is chosen the connection points at public (setting it sends no SQL),
        # so a refused request can never run anything in the previous request's schema.
        connection.set_schema_to_public()  # type: ignore[attr-defined]
        # These refusals are answered before LocaleMiddleware runs: pick the language here.
        translation.activate(translation.get_language_from_request(request))
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            return self._unknown_host()
        snapshot = routing.resolve(hostname)
        if not isinstance(snapshot, routing.ClinicSnapshot):
            return self._unknown_host()
        tenant = snapshot.clinic()
        if tenant.is_suspended:
            return json_error(
                403,
                PlatformError.CLINIC_SUSPENDED,
                _("This clinic is suspended. Its data is kept; contact the platform."),
            )
        tenant.domain_url = hostname
        request.tenant = tenant  # type: ignore[attr-defined]
        connection.set_tenant(tenant)  # type: ignore[attr-defined]
        self.setup_url_routing(request)
        return None

    @staticmethod
    def _unknown_host() -> HttpResponse:
        return json_error(404, PlatformError.UNKNOWN_HOST, _("No clinic answers at this address."))

    @staticmethod
    def _database_unavailable() -> HttpResponse:
        connection.close_if_unusable_or_obsolete()
        return json_error(
            503,
            CommonError.DATABASE_UNAVAILABLE,
            _("The database is unavailable; try again in a moment."),
        )

"""The clinic whose schema the connection is on, for code below the request."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

from tenants_core.models import Clinic


def current_clinic() -> Clinic:
    tenant = getattr(connection, "tenant", None)
    if not isinstance(tenant, Clinic) or tenant.is_public:
        raise RuntimeError("this code must run in a clinic's schema")
    return tenant


def current_timezone() -> ZoneInfo:
    """The clinic's IANA zone: agendas, working hours and reports use its local time."""
    tenant = getattr(connection, "tenant", None)
    name = getattr(tenant, "timezone", None) or settings.DEFAULT_CLINIC_TIMEZONE
    return ZoneInfo(name)

"""The login page reads the clinic's profile, hours and closures over real HTTP, without a
token, on the clinic's own domain; the platform's domain and other clinics' domains never
answer with them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django_tenants.utils import tenant_context

from backend.accounts.models import User
from backend.clinic_admin import services

pytestmark = pytest.mark.slow

# What a clinic's login page asks before anyone signs in.
LOGIN_PAGE = {
    "query": """{ currentClinic { name timezone
      profile { addressLine reference district phone whatsapp email website description }
      openingHours { weekday opensAt closesAt } closures { startsOn endsOn reason } } }"""
}


def test_the_login_page_reads_the_profile_without_a_token(
    uvicorn_server, committed_clinic, django_db_blocker
):
    clinic = committed_clinic("perfilhttp")
    today = dt.datetime.now(dt.UTC).date()
    holiday = today + dt.timedelta(days=10)
    with django_db_blocker.unblock(), tenant_context(clinic), transaction.atomic():
        admin = User.objects.get(email="admin@perfilhttp.pe")
        services.clinic_profile_update(actor=admin, clinic=clinic, data={
            "address_line": "Av. Larco 345, Of. 201", "district": "Miraflores",
            "phone": "014211234", "whatsapp": "987654321",
        })  # fmt: skip
        services.opening_hours_set(actor=admin, shifts=[services.Shift(1, dt.time(9), dt.time(13))])
        services.clinic_closure_add(
            actor=admin, starts_on=holiday, ends_on=holiday, reason="Feriado"
        )
    response = uvicorn_server.post("perfilhttp.localhost", LOGIN_PAGE)
    assert response.status_code == 200, response.text
    data = response.json()["data"]["currentClinic"]
    assert data["name"] == "Perfilhttp"
    assert data["profile"]["addressLine"] == "Av. Larco 345, Of. 201"
    assert data["profile"]["district"] == "Miraflores"
    assert (data["profile"]["phone"], data["profile"]["whatsapp"]) == (
        "+5114211234", "+51987654321",
    )  # fmt: skip
    assert data["openingHours"] == [
        {"weekday": "MONDAY", "opensAt": "09:00:00", "closesAt": "13:00:00"}
    ]
    assert data["closures"] == [
        {"startsOn": holiday.isoformat(), "endsOn": holiday.isoformat(), "reason": "Feriado"}
    ]
    # Another clinic's domain answers with its own (empty) profile, the platform with none.
    other = uvicorn_server.post("clinica2.localhost", LOGIN_PAGE).json()["data"]["currentClinic"]
    assert other["profile"]["addressLine"] == ""
    assert other["openingHours"] == []
    public = uvicorn_server.post("localhost", LOGIN_PAGE)
    assert public.json()["errors"][0]["extensions"]["code"] == "TENANT_DOMAIN_ONLY"
    assert "data" not in public.json() or public.json()["data"] is None

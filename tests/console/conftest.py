"""The console's fixtures: a signed-in operator's client, and clinics of the test's own."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from backend.accounts.models import User
from tenants_core.models import Clinic
from tenants_core.services import clinic_provision
from tests.factories import TEST_PASSWORD

PUBLIC = {"HTTP_HOST": settings.BASE_DOMAIN}
_numbers = itertools.count(1)


def console_get(client: Client, path: str, **extra: Any) -> Any:
    return client.get(f"/console/{path}", **{**PUBLIC, **extra})


def console_post(client: Client, path: str, data: dict[str, Any], **extra: Any) -> Any:
    return client.post(f"/console/{path}", data, **{**PUBLIC, **extra})


def form_codes(response: Any) -> set[str]:
    """The codes of the errors on the page's form (the service's refusal)."""
    form = response.context["form"]
    return {str(e.code) for errors in form.errors.as_data().values() for e in errors}


@pytest.fixture
def operator(client: Client, platform_admin: User) -> Client:
    """The test client, signed in to the console as the platform superuser."""
    response = console_post(
        client, "login/", {"username": platform_admin.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302, response.content[:500]
    return client


@pytest.fixture
def own_clinic(db: None) -> Any:
    """``own_clinic(plan)``: a clinic of this test's own, inside its transaction (rolled back
    with it), so that suspending or re-planning it touches no shared clinic."""

    def make(plan: str = "basic") -> Clinic:
        name = f"consola{next(_numbers)}"
        clinic = clinic_provision(
            subdomain=name, name=name.title(), legal_id="20600000005",
            email=f"hola@{name}.pe", plan=plan, admin_email=f"admin@{name}.pe",
            admin_password=TEST_PASSWORD,
        )  # fmt: skip
        connection.set_schema_to_public()
        return clinic

    return make

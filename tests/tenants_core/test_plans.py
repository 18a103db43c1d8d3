from decimal import Decimal

import pytest

from tenants_core.models import Clinic, Domain, Plan

pytestmark = pytest.mark.django_db


def test_the_three_plans_are_seeded_with_their_limits_and_prices():
    plans = {
        p.code: (p.max_users, p.max_patients, p.monthly_price, p.currency)
        for p in Plan.objects.all()
    }
    assert plans == {
        "basic": (5, 50, Decimal("29.00"), "USD"),
        "professional": (10, 100, Decimal("79.00"), "USD"),
        "enterprise": (50, 500, Decimal("199.00"), "USD"),
    }


def test_the_public_tenant_exists_on_the_base_domain(settings):
    public = Clinic.objects.get(schema_name="public")
    assert Domain.objects.get(domain=settings.BASE_DOMAIN).tenant == public


def test_effective_limits_prefer_the_clinic_override(clinic1):
    assert (clinic1.max_users, clinic1.max_patients) == (10, 100)
    clinic1.max_users_override = 12
    assert clinic1.max_users == 12
    assert clinic1.max_patients == 100

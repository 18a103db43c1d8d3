"""PostgreSQL extensions the domain apps need, the three plans, and the platform's tenant."""

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.operations import (
    BtreeGistExtension,
    TrigramExtension,
    UnaccentExtension,
)
from django.db import migrations

PLANS = [
    # code, name, max_users, max_patients, monthly price (USD)
    ("basic", "Basic", 5, 50, Decimal("29.00")),
    ("professional", "Professional", 10, 100, Decimal("79.00")),
    ("enterprise", "Enterprise", 50, 500, Decimal("199.00")),
]


def seed(apps, schema_editor):
    Plan = apps.get_model("tenants_core", "Plan")
    Clinic = apps.get_model("tenants_core", "Clinic")
    Domain = apps.get_model("tenants_core", "Domain")
    for code, name, max_users, max_patients, price in PLANS:
        Plan.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "max_users": max_users,
                "max_patients": max_patients,
                "monthly_price": price,
                "currency": "USD",
            },
        )
    public, _ = Clinic.objects.get_or_create(
        schema_name=settings.PUBLIC_SCHEMA_NAME,
        defaults={
            "name": "Platform",
            "subdomain": "",
            "plan": Plan.objects.get(code="enterprise"),
        },
    )
    Domain.objects.get_or_create(
        domain=settings.BASE_DOMAIN, defaults={"tenant": public, "is_primary": True}
    )


class Migration(migrations.Migration):
    dependencies = [("tenants_core", "0001_initial")]

    operations = [
        BtreeGistExtension(),
        TrigramExtension(),
        UnaccentExtension(),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]

"""PostgreSQL extensions the domain apps need, the three plans, and the platform's tenant.

The extensions live in their own ``extensions`` schema, which every clinic's search_path
includes (``PG_EXTRA_SEARCH_PATHS``): installed once, visible to every clinic, never inside
one clinic's schema. ``immutable_unaccent`` wraps ``unaccent`` so that indexes and generated
columns can use it.
"""

from decimal import Decimal

from django.conf import settings
from django.db import migrations

EXTENSIONS_SQL = """
CREATE SCHEMA IF NOT EXISTS extensions;
GRANT USAGE ON SCHEMA extensions TO PUBLIC;
DO $$
DECLARE
    wanted text;
    current_schema_name text;
BEGIN
    FOREACH wanted IN ARRAY ARRAY['btree_gist', 'pg_trgm', 'unaccent'] LOOP
        SELECT n.nspname INTO current_schema_name
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = wanted;
        IF current_schema_name IS NULL THEN
            EXECUTE format('CREATE EXTENSION %I WITH SCHEMA extensions', wanted);
        ELSIF current_schema_name <> 'extensions' THEN
            EXECUTE format('ALTER EXTENSION %I SET SCHEMA extensions', wanted);
        END IF;
    END LOOP;
END
$$;
CREATE OR REPLACE FUNCTION extensions.immutable_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $func$ SELECT extensions.unaccent('extensions.unaccent'::regdictionary, $1) $func$;
"""

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
        migrations.RunSQL(EXTENSIONS_SQL, migrations.RunSQL.noop),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]

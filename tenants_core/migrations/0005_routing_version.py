"""Routing cache invalidation: one version row, bumped by statement triggers on the tables
that decide where a host goes (clinic, domain, plan). The value comes from a sequence, so a
rolled-back change can never hand out a version that a later commit reuses."""

from django.db import migrations, models

BUMP = """
CREATE SEQUENCE tenants_core_routing_version_seq;
CREATE FUNCTION tenants_core_routing_version_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants_core_routing_version SET version = nextval('tenants_core_routing_version_seq');
    RETURN NULL;
END $$;
INSERT INTO tenants_core_routing_version (id, version) VALUES (1, 0);
"""
TABLES = ["tenants_core_clinic", "tenants_core_domain", "tenants_core_plan"]
TRIGGERS = "".join(
    f"""
CREATE TRIGGER {table}_routing_version
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
FOR EACH STATEMENT EXECUTE FUNCTION tenants_core_routing_version_bump();
"""
    for table in TABLES
)
DROP = "".join(f"DROP TRIGGER {table}_routing_version ON {table};" for table in TABLES) + (
    "DROP FUNCTION tenants_core_routing_version_bump(); "
    "DROP SEQUENCE tenants_core_routing_version_seq;"
)


class Migration(migrations.Migration):
    dependencies = [
        ("tenants_core", "0004_clinic_restrict_notes_to_author"),
    ]

    operations = [
        migrations.CreateModel(
            name="RoutingVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("version", models.BigIntegerField(default=0)),
            ],
            options={"db_table": "tenants_core_routing_version"},
        ),
        migrations.RunSQL(BUMP + TRIGGERS, DROP),
    ]

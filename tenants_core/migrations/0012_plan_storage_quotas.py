from django.db import migrations

GIB = 1024**3
# Bytes of files (logo, patient documents, previews) per plan: 1, 10 and 100 GiB.
QUOTAS = {"basic": 1 * GIB, "professional": 10 * GIB, "enterprise": 100 * GIB}


def seed(apps, schema_editor):
    Plan = apps.get_model("tenants_core", "Plan")
    for code, quota in QUOTAS.items():
        Plan.objects.filter(code=code).update(max_storage_bytes=quota)


class Migration(migrations.Migration):
    dependencies = [("tenants_core", "0011_plan_max_storage_bytes")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

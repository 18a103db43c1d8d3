from django.db import migrations

# WhatsApp and SMS messages a month, per plan: what bounds a clinic's messaging cost.
QUOTAS = {"basic": 300, "professional": 1000, "enterprise": 5000}


def seed(apps, schema_editor):
    Plan = apps.get_model("tenants_core", "Plan")
    for code, quota in QUOTAS.items():
        Plan.objects.filter(code=code).update(monthly_messages=quota)


class Migration(migrations.Migration):
    dependencies = [("tenants_core", "0009_plan_monthly_messages_messagingsender")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

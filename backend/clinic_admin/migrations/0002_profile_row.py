"""Every clinic has its profile row (pk 1), with empty values, from the start."""

import datetime as dt

from django.db import migrations

# A fixed date, the same in every clinic: a clinic migrated from scratch and one cloned from
# the template schema hold identical rows (tests/tenants_core/test_schema_template.py).
WRITTEN = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


def create_profile(apps, schema_editor):
    apps.get_model("clinic_admin", "ClinicProfile").objects.get_or_create(
        pk=1, defaults={"updated_at": WRITTEN}
    )


class Migration(migrations.Migration):
    dependencies = [("clinic_admin", "0001_initial")]

    operations = [migrations.RunPython(create_profile, migrations.RunPython.noop)]

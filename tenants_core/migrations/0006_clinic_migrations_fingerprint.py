from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants_core", "0005_routing_version"),
    ]

    operations = [
        migrations.AddField(
            model_name="clinic",
            name="migrations_fingerprint",
            field=models.CharField(
                blank=True,
                default="",
                help_text=(
                    "Hash of the tenant migrations applied to the schema; migrate skips a match."
                ),
                max_length=64,
            ),
        ),
    ]

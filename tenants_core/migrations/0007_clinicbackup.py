import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants_core", "0006_clinic_migrations_fingerprint"),
    ]

    operations = [
        migrations.CreateModel(
            name="ClinicBackup",
            fields=[
                ("id", models.UUIDField(editable=False, primary_key=True, serialize=False)),
                (
                    "subdomain",
                    models.CharField(
                        help_text="The clinic's subdomain at backup time.", max_length=63
                    ),
                ),
                ("schema_name", models.CharField(max_length=63)),
                ("file_name", models.CharField(max_length=255)),
                ("size_bytes", models.BigIntegerField()),
                ("sha256", models.CharField(max_length=64)),
                ("tables", models.PositiveIntegerField()),
                ("rows", models.BigIntegerField()),
                ("migrations_fingerprint", models.CharField(max_length=64)),
                ("created_by", models.CharField(blank=True, max_length=254)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "clinic",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="backups",
                        to="tenants_core.clinic",
                    ),
                ),
            ],
            options={"ordering": ["-created_at"]},
        ),
    ]

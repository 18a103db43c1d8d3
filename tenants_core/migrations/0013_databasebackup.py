from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants_core", "0012_plan_storage_quotas"),
    ]

    operations = [
        migrations.CreateModel(
            name="DatabaseBackup",
            fields=[
                ("id", models.UUIDField(editable=False, primary_key=True, serialize=False)),
                (
                    "status",
                    models.CharField(
                        choices=[("done", "Done"), ("failed", "Failed")], max_length=16
                    ),
                ),
                (
                    "file_name",
                    models.CharField(
                        blank=True, help_text="Relative to BACKUP_DIR.", max_length=255
                    ),
                ),
                ("size_bytes", models.BigIntegerField(blank=True, null=True)),
                ("sha256", models.CharField(blank=True, max_length=64)),
                ("key_id", models.CharField(blank=True, max_length=64)),
                ("server_version", models.CharField(blank=True, max_length=32)),
                ("error", models.TextField(blank=True)),
                (
                    "local_deleted_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="When retention deleted the file on this machine.",
                        null=True,
                    ),
                ),
                (
                    "offsite_status",
                    models.CharField(
                        choices=[
                            ("not_configured", "Not configured"),
                            ("pending", "Pending"),
                            ("copied", "Copied"),
                            ("failed", "Failed"),
                            ("deleted", "Deleted"),
                        ],
                        default="not_configured",
                        max_length=16,
                    ),
                ),
                (
                    "offsite_url",
                    models.CharField(blank=True, help_text="s3://bucket/key", max_length=1024),
                ),
                ("offsite_error", models.TextField(blank=True)),
                ("offsite_copied_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "ordering": ["-created_at"],
                "indexes": [models.Index(fields=["-created_at"], name="database_backup_created")],
            },
        ),
    ]

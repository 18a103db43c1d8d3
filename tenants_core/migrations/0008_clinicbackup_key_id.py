from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants_core", "0007_clinicbackup"),
    ]

    operations = [
        migrations.AddField(
            model_name="clinicbackup",
            name="key_id",
            field=models.CharField(
                blank=True,
                default="",
                help_text="Id of the BACKUP_ENCRYPTION_KEYS key that seals the file; empty for "
                "a plain file made before backups were encrypted.",
                max_length=64,
            ),
        ),
    ]

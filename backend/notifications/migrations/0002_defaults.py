import datetime as dt

from django.db import migrations

from backend.notifications.defaults import RULES, TEMPLATES


# The defaults' own date, the same in every clinic: a clinic migrated from scratch and one cloned
# from the template schema hold identical rows (tests/tenants_core/test_schema_template.py).
WRITTEN = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


def seed(apps, schema_editor):
    MessagingSettings = apps.get_model("notifications", "MessagingSettings")
    NotificationRule = apps.get_model("notifications", "NotificationRule")
    MessageTemplate = apps.get_model("notifications", "MessageTemplate")
    MessagingSettings.objects.get_or_create(pk=1, defaults={"updated_at": WRITTEN})
    for kind, minutes in RULES:
        NotificationRule.objects.get_or_create(
            kind=kind, minutes_before=minutes, defaults={"created_at": WRITTEN}
        )
    for kind, channel, subject, body, wa_name in TEMPLATES:
        MessageTemplate.objects.get_or_create(
            kind=kind,
            channel=channel,
            defaults={
                "subject": subject,
                "body": body,
                "whatsapp_template_name": wa_name,
                "updated_at": WRITTEN,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

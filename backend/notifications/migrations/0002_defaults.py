from django.db import migrations

from backend.notifications.defaults import RULES, TEMPLATES


def seed(apps, schema_editor):
    MessagingSettings = apps.get_model("notifications", "MessagingSettings")
    NotificationRule = apps.get_model("notifications", "NotificationRule")
    MessageTemplate = apps.get_model("notifications", "MessageTemplate")
    MessagingSettings.objects.get_or_create(pk=1)
    for kind, minutes in RULES:
        NotificationRule.objects.get_or_create(kind=kind, minutes_before=minutes)
    for kind, channel, subject, body, wa_name in TEMPLATES:
        MessageTemplate.objects.get_or_create(
            kind=kind,
            channel=channel,
            defaults={"subject": subject, "body": body, "whatsapp_template_name": wa_name},
        )


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

"""What the clinic sends its patients, the rules that decide it, and what patients answer."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.patients.models import Patient
from backend.scheduling.models import Appointment
from backend.treatments.models import Procedure


class Channel(models.TextChoices):
    WHATSAPP = "WHATSAPP", _("WhatsApp")
    SMS = "SMS", _("SMS")
    EMAIL = "EMAIL", _("Email")


DEFAULT_CHANNEL_ORDER = [Channel.WHATSAPP.value, Channel.SMS.value, Channel.EMAIL.value]
# Channels that cost money per message and count against the plan's monthly quota.
METERED_CHANNELS = frozenset({Channel.WHATSAPP, Channel.SMS})


class NotificationKind(models.TextChoices):
    CONFIRMATION_REQUEST = "CONFIRMATION_REQUEST", _("Confirmation request")
    REMINDER = "REMINDER", _("Reminder")
    RECALL = "RECALL", _("Recall")
    # A one-time code the patient asked for (the assistant's identity check): no appointment,
    # sent at once, whatever the quiet hours or the reminders' opt-out.
    VERIFICATION_CODE = "VERIFICATION_CODE", _("Verification code")


class NotificationStatus(models.TextChoices):
    SCHEDULED = "SCHEDULED", _("Scheduled")  # waits for its send_at
    HELD = "HELD", _("Held")  # not sent: the plan's quota is used up (failure_code says so)
    SENDING = "SENDING", _("Sending")  # a worker is handing it to the provider
    SENT = "SENT", _("Sent")  # the provider accepted it (or the development outbox kept it)
    DELIVERED = "DELIVERED", _("Delivered")
    READ = "READ", _("Read")
    FAILED = "FAILED", _("Failed")  # failure_code and failure_reason say why
    CANCELLED = "CANCELLED", _("Cancelled")  # the appointment moved away or was cancelled
    SKIPPED = "SKIPPED", _("Skipped")  # opted out, or no contact, at sending time


PENDING_STATUSES = (NotificationStatus.SCHEDULED, NotificationStatus.HELD)


def _default_channel_order() -> list[str]:
    return list(DEFAULT_CHANNEL_ORDER)


class MessagingSettings(models.Model):
    """The clinic's messaging switches: one row (``pk=1``)."""

    enabled = models.BooleanField(default=True, help_text="Send reminders at all.")
    channel_order = ArrayField(
        models.CharField(max_length=10, choices=Channel.choices),
        default=_default_channel_order,
        help_text="Channels in order of preference; the first the patient can receive wins.",
    )
    # Nothing is sent in [quiet_start, quiet_end) clinic time; a message falls at quiet_end.
    quiet_start = models.TimeField(default=dt.time(21, 0))
    quiet_end = models.TimeField(default=dt.time(8, 0))
    recall_enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="messaging_settings_single_row"),
            models.CheckConstraint(
                condition=~Q(quiet_start=F("quiet_end")), name="messaging_quiet_hours_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return f"messaging settings (enabled={self.enabled})"


class NotificationRule(models.Model):
    """Send a <kind> <minutes_before> minutes before each appointment."""

    kind = models.CharField(
        max_length=24,
        choices=[
            (
                NotificationKind.CONFIRMATION_REQUEST.value,
                NotificationKind.CONFIRMATION_REQUEST.label,
            ),
            (NotificationKind.REMINDER.value, NotificationKind.REMINDER.label),
        ],
    )
    minutes_before = models.PositiveIntegerField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-minutes_before", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "minutes_before"], name="rule_kind_offset_unique"
            ),
            models.CheckConstraint(
                condition=Q(minutes_before__gte=1) & Q(minutes_before__lte=60 * 24 * 30),
                name="rule_offset_range",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["CONFIRMATION_REQUEST", "REMINDER"]), name="rule_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.minutes_before} min before"


class RecallRule(models.Model):
    """Invite patients back <months> after their last <procedure> of the catalog."""

    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="+")
    months = models.PositiveSmallIntegerField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["procedure"], name="recall_rule_procedure_unique"),
            models.CheckConstraint(
                condition=Q(months__gte=1) & Q(months__lte=60), name="recall_rule_months_range"
            ),
        ]

    def __str__(self) -> str:
        return f"recall {self.procedure_id} after {self.months} months"


class MessageTemplate(models.Model):
    """The clinic's words for one kind of message on one channel, with ``{placeholders}``."""

    kind = models.CharField(max_length=24, choices=NotificationKind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    subject = models.CharField(max_length=200, blank=True, help_text="Email only.")
    body = models.TextField()
    # WhatsApp sends business-initiated messages only as templates approved by Meta: the
    # approved template's name; the body's placeholders become its parameters, in order.
    whatsapp_template_name = models.CharField(max_length=512, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "channel"], name="template_kind_channel_unique"
            ),
            models.CheckConstraint(condition=~Q(body=""), name="template_body_required"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.channel}"


class ContactPreference(models.Model):
    """What a patient agreed to receive. No row: every channel the clinic uses is allowed."""

    patient = models.OneToOneField(
        Patient, on_delete=models.CASCADE, related_name="contact_preference"
    )
    whatsapp = models.BooleanField(default=True)
    sms = models.BooleanField(default=True)
    email = models.BooleanField(default=True)
    # "BAJA"/"STOP" or a staff change: nothing is sent while this is set.
    opted_out_at = models.DateTimeField(null=True, blank=True)
    opt_out_source = models.CharField(max_length=40, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"contact preference of patient {self.patient_id}"

    def allows(self, channel: str) -> bool:
        if self.opted_out_at is not None:
            return False
        return bool(getattr(self, channel.lower()))


class Notification(models.Model):
    """One message to one patient on one channel: planned, sent, and what became of it."""

    kind = models.CharField(max_length=24, choices=NotificationKind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(
        max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.SCHEDULED
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="notifications")
    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="notifications"
    )
    rule = models.ForeignKey(
        NotificationRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recall_rule = models.ForeignKey(
        RecallRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recall_due_on = models.DateField(null=True, blank=True)
    send_at = models.DateTimeField(help_text="When it goes out (quiet hours already applied).")
    recipient = models.CharField(max_length=254, blank=True, help_text="E.164 phone or email.")
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True, help_text="What the patient receives, once rendered.")
    # VERIFICATION_CODE only: the code, kept until the message has gone (a retry renders it
    # again), then cleared. Never shown to staff; in live mode the sent body is masked too.
    one_time_code = models.CharField(max_length=12, blank=True, default="", db_default="")
    provider_message_id = models.CharField(max_length=128, blank=True)
    failure_code = models.CharField(max_length=32, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-send_at", "-id"]
        indexes = [
            models.Index(fields=["status", "send_at"], name="notification_due"),
            models.Index(fields=["patient", "-send_at"], name="notification_patient"),
            models.Index(fields=["appointment"], name="notification_appointment"),
            models.Index(fields=["recipient", "-sent_at"], name="notification_recipient"),
            # The daily metrics rollup counts the messages sent in a day, by channel.
            models.Index(
                fields=["sent_at"],
                name="notification_sent",
                condition=models.Q(sent_at__isnull=False),
            ),
        ]
        constraints = [
            # At most one message per appointment, rule and channel: planning twice (a retry,
            # two workers, a race) can never send twice.
            models.UniqueConstraint(
                fields=["appointment", "rule", "channel"],
                condition=Q(appointment__isnull=False) & Q(rule__isnull=False),
                name="notification_one_per_appointment_rule_channel",
            ),
            models.UniqueConstraint(
                fields=["patient", "recall_rule", "recall_due_on"],
                condition=Q(recall_rule__isnull=False),
                name="notification_one_recall_per_due_date",
            ),
            models.UniqueConstraint(
                fields=["channel", "provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="notification_provider_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["RECALL", "VERIFICATION_CODE"])
                | Q(appointment__isnull=False),
                name="notification_appointment_or_recall",
            ),
            models.CheckConstraint(
                condition=Q(one_time_code="") | Q(kind="VERIFICATION_CODE"),
                name="notification_code_only_for_verification",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.channel} to patient {self.patient_id} ({self.status})"


class InboxMessage(models.Model):
    """A patient's message that no rule understood: staff answer it (and the assistant will)."""

    channel = models.CharField(max_length=10, choices=Channel.choices)
    sender = models.CharField(max_length=254, help_text="The patient's phone or email.")
    patient = models.ForeignKey(
        Patient, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbox_messages"
    )
    in_reply_to = models.ForeignKey(
        Notification, on_delete=models.SET_NULL, null=True, blank=True, related_name="replies"
    )
    body = models.TextField()
    provider_message_id = models.CharField(max_length=128, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["handled_at", "-received_at"], name="inbox_open")]

    def __str__(self) -> str:
        return f"{self.channel} from {self.sender} at {self.received_at:%Y-%m-%d %H:%M}"


class InboundEvent(models.Model):
    """Every provider event handled once: a replayed webhook finds its key here and does
    nothing."""

    provider = models.CharField(max_length=20)
    event_key = models.CharField(max_length=200)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_key"], name="inbound_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_key}"


class MessageUsage(models.Model):
    """Metered messages sent per calendar month (clinic time): the plan's quota counts here,
    under a row lock, so that concurrent workers can never overshoot it."""

    month = models.DateField(unique=True, help_text="The first day of the month.")
    whatsapp = models.PositiveIntegerField(default=0)
    sms = models.PositiveIntegerField(default=0)
    email = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"usage {self.month:%Y-%m}"

    @property
    def metered(self) -> int:
        return self.whatsapp + self.sms

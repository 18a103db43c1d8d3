"""The patient assistant's conversations, their messages and one-time codes (clinic schema)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from backend.patients.models import Patient

SETTINGS_PK = 1
DEFAULT_RETENTION_DAYS = 365
RETENTION_DAYS = (30, 3650)


class ConversationChannel(models.TextChoices):
    WEB = "WEB", "Web"
    WHATSAPP = "WHATSAPP", "WhatsApp"


class ConversationStatus(models.TextChoices):
    OPEN = "OPEN", "The assistant answers"
    HANDED_OFF = "HANDED_OFF", "Waiting for a person"
    TAKEN_OVER = "TAKEN_OVER", "A staff member answers"
    CLOSED = "CLOSED", "Closed"


class HandoffReason(models.TextChoices):
    REQUESTED = "REQUESTED", "The patient asked for a person"
    MISUNDERSTOOD = "MISUNDERSTOOD", "The assistant did not understand"
    CLINICAL = "CLINICAL", "A clinical question"
    URGENT = "URGENT", "Urgent symptoms"


class MessageAuthor(models.TextChoices):
    PATIENT = "PATIENT", "Patient or visitor"
    ASSISTANT = "ASSISTANT", "Assistant"
    STAFF = "STAFF", "Staff member"


class Conversation(models.Model):
    """One conversation with a visitor of the web widget or a WhatsApp number."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField(max_length=10, choices=ConversationChannel.choices)
    phone = models.CharField(max_length=16, blank=True, help_text="WhatsApp sender, E.164.")
    status = models.CharField(
        max_length=12, choices=ConversationStatus.choices, default=ConversationStatus.OPEN
    )
    # The state machine's memory (flow, step, collected slots, offered slots): the engine's own.
    state = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=5, default="es")
    patient = models.ForeignKey(
        Patient,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assistant_conversations",
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    handoff_reason = models.CharField(max_length=16, choices=HandoffReason.choices, blank=True)
    handed_off_at = models.DateTimeField(null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["phone"],
                condition=Q(channel="WHATSAPP") & ~Q(status="CLOSED"),
                name="assistant_one_open_whatsapp_conversation",
            ),
            models.CheckConstraint(
                condition=Q(channel="WEB", phone="") | Q(channel="WHATSAPP") & ~Q(phone=""),
                name="assistant_conversation_phone",
            ),
        ]
        indexes = [models.Index(fields=["status", "-last_message_at"], name="assistant_status")]

    def __str__(self) -> str:
        return f"{self.channel} conversation {self.pk} ({self.status})"


class ConversationMessage(models.Model):
    """One message of a conversation, from the patient, the assistant or a staff member."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    author = models.CharField(max_length=10, choices=MessageAuthor.choices)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.TextField()
    intent = models.CharField(max_length=20, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="assistant_message_time"),
            models.Index(
                fields=["ip", "created_at"],
                condition=Q(ip__isnull=False),
                name="assistant_message_ip",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.author} in conversation {self.conversation_id}"


class VerificationCode(models.Model):
    """A one-time code sent to a patient's phone or email, to verify who writes."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="verification_codes"
    )
    # Null when no patient matched: the request is counted, and no code can match it.
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    code_hash = models.CharField(max_length=64)
    channel = models.CharField(max_length=10, blank=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"code for patient {self.patient_id} in conversation {self.conversation_id}"


class AssistantSettings(models.Model):
    """The clinic's assistant settings (one row, pk 1)."""

    enabled = models.BooleanField(default=True)
    transcript_retention_days = models.PositiveSmallIntegerField(default=DEFAULT_RETENTION_DAYS)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(pk=SETTINGS_PK), name="assistant_settings_singleton"
            ),
            models.CheckConstraint(
                condition=Q(transcript_retention_days__gte=RETENTION_DAYS[0])
                & Q(transcript_retention_days__lte=RETENTION_DAYS[1]),
                name="assistant_retention_days",
            ),
        ]

    def __str__(self) -> str:
        return "assistant settings"

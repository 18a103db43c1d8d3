"""The assistant's conversations as the clinic's staff see them. Times come in the clinic's
local offset (ISO 8601). The visitor's secret key of a conversation (``public_id``) and the
visitors' IP addresses are never part of these types."""

from __future__ import annotations

import datetime as dt

import strawberry
import strawberry_django
from strawberry import relay

from backend.assistant import models
from backend.assistant.engine import Intent
from backend.assistant.models import (
    ConversationChannel,
    ConversationStatus,
    HandoffReason,
    MessageAuthor,
)
from graphql_api.accounts.types import StaffMember
from graphql_api.assistant.types import AssistantIntent
from graphql_api.core.docstrings import django_type
from graphql_api.patients.types import Patient

# The models' choices are the GraphQL enums: one source for their names and values.
strawberry.enum(
    ConversationChannel,
    name="AssistantChannel",
    description="Where a conversation happens: the clinic's web widget or WhatsApp.",
)
strawberry.enum(
    ConversationStatus,
    name="AssistantConversationStatus",
    description="OPEN: the assistant answers. HANDED_OFF: waiting for a person. TAKEN_OVER: a "
    "staff member answers. CLOSED: nobody answers any more.",
)
strawberry.enum(
    HandoffReason,
    name="AssistantHandoffReason",
    description="Why the assistant handed a conversation to a person.",
)
strawberry.enum(
    MessageAuthor,
    name="AssistantMessageAuthor",
    description="Who wrote a message: the patient (or visitor), the assistant, or a staff member.",
)


@django_type(models.ConversationMessage)
class AssistantConversationMessage(relay.Node):
    """One message of a conversation with the assistant."""

    @strawberry_django.field(only=["author"])
    def author(self, root: models.ConversationMessage) -> MessageAuthor:
        return MessageAuthor(root.author)

    text: str

    @strawberry_django.field(
        only=["intent"],
        description="What the assistant understood from a patient's message; null for the "
        "assistant's and the staff's messages.",
    )
    def intent(self, root: models.ConversationMessage) -> AssistantIntent | None:  # type: ignore[valid-type]
        return Intent(root.intent) if root.intent in Intent.__members__ else None

    staff: StaffMember | None = strawberry_django.field(
        description="Who wrote a STAFF message; null otherwise."
    )

    created_at: dt.datetime = strawberry_django.field(description="When, with the clinic's offset.")


@django_type(models.Conversation)
class AssistantConversation(relay.Node):
    """A conversation of a patient or visitor with the assistant, on the web widget or on
    WhatsApp, and whether a person answers it."""

    @strawberry_django.field(only=["channel"])
    def channel(self, root: models.Conversation) -> ConversationChannel:
        return ConversationChannel(root.channel)

    @strawberry_django.field(only=["status"])
    def status(self, root: models.Conversation) -> ConversationStatus:
        return ConversationStatus(root.status)

    phone: str = strawberry_django.field(
        description="The WhatsApp sender (E.164); empty on the web."
    )
    language: str = strawberry_django.field(description="“es” or “en”.")
    patient: Patient | None = strawberry_django.field(
        description="The patient who verified their identity in this conversation, or whom "
        "the assistant registered in it; null for an anonymous visitor."
    )

    verified_at: dt.datetime | None = strawberry_django.field(
        description="When the patient proved who they are; null if not."
    )

    @strawberry_django.field(only=["handoff_reason"])
    def handoff_reason(self, root: models.Conversation) -> HandoffReason | None:
        return HandoffReason(root.handoff_reason) if root.handoff_reason else None

    handed_off_at: dt.datetime | None

    assigned_to: StaffMember | None = strawberry_django.field(
        description="The staff member who took it over."
    )

    closed_at: dt.datetime | None

    closed_by: StaffMember | None

    created_at: dt.datetime

    last_message_at: dt.datetime

    messages: list[AssistantConversationMessage] = strawberry_django.field(
        description="Every message, oldest first."
    )


@django_type(models.AssistantSettings)
class AssistantSettings:
    """The clinic's assistant switch, and how long its transcripts are kept."""

    enabled: bool = strawberry_django.field(
        description="Off: the assistant answers nobody (ASSISTANT_DISABLED)."
    )
    transcript_retention_days: int = strawberry_django.field(
        description="Conversations are deleted this many days after their last message "
        "(30 to 3,650), unless one waits for a person."
    )

"""Patient messaging types. Times come in the clinic's local offset (ISO 8601)."""

from __future__ import annotations

import datetime as dt

import strawberry
import strawberry_django
from strawberry import relay

from backend.notifications import models
from backend.notifications.models import Channel, NotificationKind, NotificationStatus
from backend.notifications.rendering import PLACEHOLDERS, placeholders_allowed
from graphql_api.accounts.types import StaffMember
from graphql_api.core.docstrings import django_type, graphql_type
from graphql_api.patients.types import Patient
from graphql_api.scheduling.types import Appointment
from graphql_api.treatments.types import Procedure

# The models' choices are the GraphQL enums: one source for their names and values.
strawberry.enum(Channel, name="MessageChannel", description="How a message reaches a patient.")
strawberry.enum(
    NotificationKind,
    description="CONFIRMATION_REQUEST and REMINDER go before an appointment; RECALL invites a "
    "patient back after a procedure; VERIFICATION_CODE carries a one-time code the patient "
    "asked the assistant for.",
)
strawberry.enum(
    NotificationStatus,
    description="SCHEDULED → SENDING → SENT → DELIVERED → READ; or HELD (plan quota), FAILED, "
    "CANCELLED, SKIPPED (opted out, no contact).",
)


@django_type(models.NotificationRule)
class NotificationRule(relay.Node):
    """Send a confirmation request or a reminder a fixed time before each appointment."""

    @strawberry_django.field(only=["kind"])
    def kind(self, root: models.NotificationRule) -> NotificationKind:
        return NotificationKind(root.kind)

    minutes_before: int
    is_active: bool


@django_type(models.RecallRule)
class RecallRule(relay.Node):
    """Invite patients back some months after their last procedure of the catalog."""

    procedure: Procedure
    months: int
    is_active: bool


@graphql_type
class Placeholder:
    """A ``{name}`` a template may use, and what it becomes."""

    name: str
    description: str


def placeholders_for(kind: str) -> list[Placeholder]:
    allowed = placeholders_allowed(kind)
    return [
        Placeholder(name=name, description=str(text))
        for name, text in PLACEHOLDERS.items()
        if name in allowed
    ]


@django_type(models.MessageTemplate)
class MessageTemplate:
    """The clinic's words for one kind of message on one channel (Spanish, with
    ``{placeholders}``)."""

    @strawberry_django.field(only=["kind"])
    def kind(self, root: models.MessageTemplate) -> NotificationKind:
        return NotificationKind(root.kind)

    @strawberry_django.field(only=["channel"])
    def channel(self, root: models.MessageTemplate) -> Channel:
        return Channel(root.channel)

    subject: str = strawberry_django.field(description="Email only.")
    body: str
    whatsapp_template_name: str = strawberry_django.field(
        description="WhatsApp: the name of the template Meta approved; the body's placeholders "
        "are its parameters, in order."
    )

    updated_at: dt.datetime

    @strawberry_django.field(
        only=["kind"], description="The placeholders this kind of message may use."
    )
    def placeholders(self, root: models.MessageTemplate) -> list[Placeholder]:
        return placeholders_for(root.kind)


@graphql_type
class TemplatePreview:
    """A template rendered with sample values (nothing is saved or sent)."""

    subject: str
    body: str


@graphql_type
class MessagingSettings:
    """The clinic's messaging switches, its rules, and this month's use of the plan's quota
    (WhatsApp and SMS count; email does not)."""

    enabled: bool
    channel_order: list[Channel] = strawberry.field(
        description="Channels in order of preference; the first the patient can receive wins."
    )
    quiet_start: dt.time = strawberry.field(description="Nothing is sent from this clinic time…")
    quiet_end: dt.time = strawberry.field(description="…until this one.")
    recall_enabled: bool
    rules: list[NotificationRule]
    recall_rules: list[RecallRule]
    messages_used_this_month: int
    monthly_message_quota: int
    held_messages: int = strawberry.field(
        description="Messages not sent because the quota is used up (PLAN_LIMIT_REACHED)."
    )


@django_type(models.Notification)
class Notification(relay.Node):
    """One message to one patient on one channel, and what became of it."""

    @strawberry_django.field(only=["kind"])
    def kind(self, root: models.Notification) -> NotificationKind:
        return NotificationKind(root.kind)

    @strawberry_django.field(only=["channel"])
    def channel(self, root: models.Notification) -> Channel:
        return Channel(root.channel)

    @strawberry_django.field(only=["status"])
    def status(self, root: models.Notification) -> NotificationStatus:
        return NotificationStatus(root.status)

    patient: Patient
    appointment: Appointment | None
    recipient: str = strawberry_django.field(description="E.164 phone or email.")
    subject: str
    body: str = strawberry_django.field(description="What the patient receives, once rendered.")
    failure_code: str = strawberry_django.field(
        description="Why it failed or was held or skipped (PROVIDER_REJECTED, OPTED_OUT…)."
    )
    failure_reason: str
    attempts: int

    send_at: dt.datetime = strawberry_django.field(description="When it goes out, clinic offset.")

    sent_at: dt.datetime | None

    delivered_at: dt.datetime | None

    read_at: dt.datetime | None


@django_type(models.InboxMessage)
class InboxMessage(relay.Node):
    """A patient's message that no rule understood: for the front desk to answer."""

    @strawberry_django.field(only=["channel"])
    def channel(self, root: models.InboxMessage) -> Channel:
        return Channel(root.channel)

    sender: str = strawberry_django.field(description="The patient's phone or email.")
    patient: Patient | None
    in_reply_to: Notification | None
    body: str

    received_at: dt.datetime

    handled_at: dt.datetime | None

    handled_by: StaffMember | None


@graphql_type
class ContactPreference:
    """What a patient agreed to receive. Without a saved choice every channel is allowed."""

    patient: Patient
    whatsapp: bool
    sms: bool
    email: bool
    opted_out: bool = strawberry.field(description="Nothing is sent while this is true.")
    opted_out_at: dt.datetime | None
    opt_out_source: str = strawberry.field(
        description="Who opted out: “staff”, or the patient's reply (BAJA/STOP)."
    )


def contact_preference(preference: models.ContactPreference) -> ContactPreference:
    return ContactPreference(
        patient=preference.patient,  # type: ignore[arg-type]  # the model is the type's root
        whatsapp=preference.whatsapp,
        sms=preference.sms,
        email=preference.email,
        opted_out=preference.opted_out_at is not None,
        opted_out_at=preference.opted_out_at,
        opt_out_source=preference.opt_out_source,
    )

"""Patient messaging inputs. In updates, a field left out is not changed."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry import relay

from graphql_api.notifications.types import Channel, NotificationKind, NotificationStatus


@strawberry.input(description="Changes to the messaging settings: only the fields given change.")
class UpdateMessagingSettingsInput:
    enabled: bool | None = None
    channel_order: list[Channel] | None = strawberry.field(
        default=None, description="Each channel at most once, at least one."
    )
    quiet_start: dt.time | None = strawberry.field(default=None, description="Clinic time.")
    quiet_end: dt.time | None = strawberry.field(
        default=None, description="Clinic time; not equal to quietStart (INVALID_QUIET_HOURS)."
    )
    recall_enabled: bool | None = None


@strawberry.input(description="Which messages to list; every filter given must match.")
class NotificationFilter:
    status: list[NotificationStatus] | None = None
    channel: list[Channel] | None = None
    kind: list[NotificationKind] | None = None
    patient_id: relay.GlobalID | None = None
    appointment_id: relay.GlobalID | None = None


@strawberry.input(description="A message template; placeholders are checked against its kind.")
class MessageTemplateInput:
    kind: NotificationKind
    channel: Channel
    body: str
    subject: str = strawberry.field(default="", description="Email only.")
    whatsapp_template_name: str = ""


@strawberry.input(description="A patient's contact choices: only the fields given change.")
class ContactPreferenceInput:
    whatsapp: bool | None = None
    sms: bool | None = None
    email: bool | None = None
    opted_out: bool | None = strawberry.field(
        default=None, description="True stops every message to the patient; false resumes."
    )

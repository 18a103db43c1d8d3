"""Staff-facing writes of patient messaging (contract; bodies land with issue 15's parts):
settings and rules, templates, contact preferences, resending, the inbox. Each is atomic and
audited; bad input is a coded ``ValidationError`` and changes nothing."""

from __future__ import annotations

from backend.accounts.models import User
from backend.notifications.models import (
    ContactPreference,
    InboxMessage,
    MessagingSettings,
    Notification,
)
from backend.patients.models import Patient


def messaging_settings_get() -> MessagingSettings:
    raise NotImplementedError


def contact_preference_update(
    *,
    actor: User,
    patient: Patient,
    whatsapp: bool | None = None,
    sms: bool | None = None,
    email: bool | None = None,
    opted_out: bool | None = None,
) -> ContactPreference:
    raise NotImplementedError


def notification_resend(*, actor: User, notification: Notification) -> Notification:
    raise NotImplementedError


def inbox_message_handle(*, actor: User, message: InboxMessage) -> InboxMessage:
    raise NotImplementedError

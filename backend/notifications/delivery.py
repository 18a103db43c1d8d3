"""Planning, sending and answering messages (contract; bodies land with issue 15's parts).

Planning runs inside the scheduling service's transaction (``hooks``); sending is a job
(``tasks.send_notification``) deferred in the same transaction as the row it sends."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from backend.notifications.models import Notification
from backend.scheduling.hooks import AppointmentEvent
from backend.scheduling.models import Appointment


def appointment_messages_plan(appointment: Appointment, event: AppointmentEvent) -> None:
    """Schedule, move or cancel ``appointment``'s messages to match its new state (the
    scheduling hook; runs in the booking's transaction)."""


def notification_send(*, notification_id: int, now: dt.datetime | None = None) -> None:
    """The job: send one due notification (locks it; does nothing if it is no longer due)."""
    raise NotImplementedError


def notification_status_record(
    *,
    channel: str,
    provider_message_id: str,
    status: str,
    error_code: str = "",
    error_reason: str = "",
    at: dt.datetime | None = None,
) -> Notification | None:
    """A provider's delivery report (sent, delivered, read, failed) for one of our messages;
    None when the id is not ours. Never moves a status backwards (READ stays READ)."""
    raise NotImplementedError


@dataclass(frozen=True)
class InboundOutcome:
    action: str  # "confirmed", "cancelled", "opted_out", "inbox", "ignored"
    appointment_id: int | None = None
    inbox_message_id: int | None = None


def inbound_message_receive(
    *,
    channel: str,
    sender: str,
    body: str,
    provider_message_id: str = "",
    in_reply_to_provider_id: str = "",
    button_payload: str = "",
    now: dt.datetime | None = None,
) -> InboundOutcome:
    """A patient's message (``sender``: E.164 phone or email): confirm, cancel, opt out
    ("BAJA", "STOP"), or the staff inbox."""
    raise NotImplementedError


def recall_plan(*, today: dt.date | None = None) -> int:
    """The periodic job: plan recall messages due today; how many."""
    raise NotImplementedError

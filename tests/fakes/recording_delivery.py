"""A recording stand-in for ``backend.notifications.delivery``'s webhook entry points (part C
implements them): each call writes an ``InboxMessage`` in the schema it runs in, in the
webhook's transaction, so a test reads which clinic got what, and that it happened once.

A body of ``"explode"`` raises, as a failing effect would."""

from __future__ import annotations

import datetime as dt
from typing import Any

from backend.notifications import delivery
from backend.notifications.models import InboxMessage

STATUS_SENDER = "status"


def inbound_message_receive(
    *,
    channel: str,
    sender: str,
    body: str,
    provider_message_id: str = "",
    in_reply_to_provider_id: str = "",
    button_payload: str = "",
    now: dt.datetime | None = None,
) -> delivery.InboundOutcome:
    if body == "explode":
        raise RuntimeError("the effect failed")
    row = InboxMessage.objects.create(
        channel=channel,
        sender=sender,
        body=f"{body}|reply-to={in_reply_to_provider_id}|payload={button_payload}",
        provider_message_id=provider_message_id,
    )
    return delivery.InboundOutcome("inbox", inbox_message_id=row.pk)


def notification_status_record(
    *,
    channel: str,
    provider_message_id: str,
    status: str,
    error_code: str = "",
    error_reason: str = "",
    at: dt.datetime | None = None,
) -> Any:
    InboxMessage.objects.create(
        channel=channel,
        sender=STATUS_SENDER,
        body=f"{status}|{error_code}|{error_reason}|{at.isoformat() if at else ''}",
        provider_message_id=provider_message_id,
    )
    return None


def install() -> None:
    delivery.inbound_message_receive = inbound_message_receive  # type: ignore[assignment]
    delivery.notification_status_record = notification_status_record  # type: ignore[assignment]

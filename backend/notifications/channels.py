"""One way to hand a message to a provider, whatever the channel (contract; see
``backend/integrations`` for the providers).

``send(message)`` returns the provider's message id, or raises:
- ``ProviderRejected``: the provider refused this message for good (a 4xx: a bad number, a
  blocked recipient, an unapproved template). The notification fails at once, with the reason.
- ``ProviderUnavailable``: the provider could not be reached or failed (5xx, timeout). The job
  retries with backoff, then the notification fails, visibly.

With ``MESSAGING_BACKEND = "outbox"`` nothing leaves the machine: the message is kept on its
notification row (which staff read through GraphQL) and gets an ``outbox-…`` id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.conf import settings


@dataclass(frozen=True)
class OutgoingMessage:
    channel: str  # Channel value
    recipient: str  # E.164 phone, or email address
    body: str
    subject: str = ""
    sender: str = ""  # the clinic's WhatsApp phone number id, or its SMS number (E.164)
    whatsapp_template_name: str = ""
    whatsapp_parameters: list[str] = field(default_factory=list)
    language: str = "es"
    ics: bytes | None = None  # an appointment's calendar entry (email)
    reference: str = ""  # our id for the message, echoed in provider callbacks


class ProviderRejected(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code, self.reason = code, reason


class ProviderUnavailable(Exception):
    pass


def send(message: OutgoingMessage) -> str:
    """Hand ``message`` to its channel's provider; the provider's message id."""
    if settings.MESSAGING_BACKEND == "outbox":
        return f"outbox-{uuid.uuid4().hex}"
    raise NotImplementedError("live channels: issue 15, integrations part")

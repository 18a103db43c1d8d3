"""One way to hand a message to a provider, whatever the channel (the providers' clients are
in ``backend/integrations``).

``send(message)`` returns the provider's message id, or raises:
- ``ProviderRejected``: the provider refused this message for good (a 4xx: a bad number, a
  blocked recipient, an unapproved template; ``NO_SENDER``: the clinic has no number on that
  channel). The notification fails at once, with the reason.
- ``ProviderUnavailable``: the provider could not be reached or failed (5xx, timeout, 429).
  The job retries with backoff, then the notification fails, visibly.

With ``MESSAGING_BACKEND = "outbox"`` nothing leaves the machine: the message is kept on its
notification row (which staff read through GraphQL) and gets an ``outbox-…`` id. With
``"live"``: WhatsApp Cloud API, a Twilio-compatible SMS API, and email through Django's email
backend (SMTP), an appointment's ``.ics`` attached.
"""

from __future__ import annotations

import smtplib
import uuid
from dataclasses import dataclass, field
from typing import NoReturn

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.message import make_msgid

from backend.integrations.errors import ProviderRejected, ProviderUnavailable
from backend.integrations.sms.client import SmsClient
from backend.integrations.whatsapp.client import WhatsAppClient
from backend.notifications import calendar
from tenants_core.context import current_clinic
from tenants_core.models import MessagingSender

__all__ = ["OutgoingMessage", "ProviderRejected", "ProviderUnavailable", "send", "sender_for"]


@dataclass(frozen=True)
class OutgoingMessage:
    channel: str  # Channel value
    recipient: str  # E.164 phone, or email address
    body: str
    subject: str = ""
    sender: str = ""  # the clinic's WhatsApp phone number id, or its SMS number (E.164)
    whatsapp_template_name: str = ""
    whatsapp_parameters: list[str] = field(default_factory=list)
    whatsapp_button_code: str = ""  # an authentication template's copy-code button
    language: str = "es"
    ics: bytes | None = None  # an appointment's calendar entry (email)
    reference: str = ""  # our id for the message, echoed in provider callbacks


def sender_for(channel: str) -> str:
    """The current clinic's sender on ``channel`` (``MessagingSender``: its WhatsApp phone
    number id or SMS number; email: ``DEFAULT_FROM_EMAIL``); "" when it has none."""
    if channel == "EMAIL":
        return str(settings.DEFAULT_FROM_EMAIL)
    row = (
        MessagingSender.objects.filter(clinic_id=current_clinic().pk, channel=channel)
        .values_list("external_id", flat=True)
        .first()
    )
    return row or ""


def send(message: OutgoingMessage) -> str:
    """Hand ``message`` to its channel's provider; the provider's message id."""
    if settings.MESSAGING_BACKEND == "outbox":
        return f"outbox-{uuid.uuid4().hex}"
    if message.channel == "EMAIL":
        return _send_email(message)
    sender = message.sender or sender_for(message.channel)
    if not sender:
        raise ProviderRejected(
            "NO_SENDER", f"The clinic has no {message.channel} sender configured."
        )
    if message.channel == "WHATSAPP":
        client = WhatsAppClient.from_settings()
        if message.whatsapp_template_name:
            return client.send_template(
                phone_number_id=sender,
                to=message.recipient,
                template_name=message.whatsapp_template_name,
                parameters=list(message.whatsapp_parameters),
                language=message.language,
                button_code=message.whatsapp_button_code,
            )
        return client.send_text(phone_number_id=sender, to=message.recipient, body=message.body)
    if message.channel == "SMS":
        return SmsClient.from_settings().send(
            sender=sender, to=message.recipient, body=message.body
        )
    raise ProviderRejected("UNKNOWN_CHANNEL", f"No provider for channel {message.channel!r}.")


def _send_email(message: OutgoingMessage) -> str:
    """Through Django's email backend; the id is the Message-ID we gave the email."""
    message_id = make_msgid(domain=settings.BASE_DOMAIN)
    headers = {"Message-ID": message_id}
    if message.reference:
        headers["X-Message-Reference"] = message.reference
    email = EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=message.sender or settings.DEFAULT_FROM_EMAIL,
        to=[message.recipient],
        headers=headers,
    )
    if message.ics:
        email.attach(calendar.FILENAME, message.ics.decode("utf-8"), calendar.CONTENT_TYPE)
    try:
        email.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as error:
        code, reason = next(iter(error.recipients.values()), (550, b"recipient refused"))
        _raise_smtp(code, reason)
    except smtplib.SMTPResponseException as error:  # sender refused, data refused, …
        _raise_smtp(error.smtp_code, error.smtp_error)
    except (smtplib.SMTPException, OSError) as error:  # refused connection, timeout, …
        raise ProviderUnavailable(f"SMTP: {error!r}") from error
    return message_id


def _raise_smtp(code: int, reason: bytes | str) -> NoReturn:
    text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    # 5yz: permanent (RFC 5321); 4yz: try again later.
    if 500 <= code < 600:
        raise ProviderRejected(f"SMTP_{code}", text[:500])
    raise ProviderUnavailable(f"SMTP {code}: {text}")

"""The assistant's entry point: one message from a visitor or a patient, one reply."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from backend.assistant.engine import Answer, Engine, Intent
from backend.assistant.errors import AssistantError
from backend.assistant.models import (
    Conversation,
    ConversationChannel,
    ConversationMessage,
    ConversationStatus,
    MessageAuthor,
)
from backend.assistant.selectors import assistant_settings_get
from backend.assistant.tools import ToolSession
from backend.core.error_codes import CommonError
from backend.core.locks import transaction_lock
from backend.core.text import invisible

LANGUAGES = ("es", "en")


@dataclass
class Reply:
    conversation: Conversation
    text: str
    intent: Intent
    quick_replies: list[str]
    handed_off: bool


def _refuse(
    code: AssistantError | CommonError, message: str, field: str = "text"
) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _clean(text: str | None) -> str:
    """The message without control or invisible characters, spaces collapsed."""
    text = "".join(
        " " if char in "\r\n\t" else char
        for char in (text or "")
        if char in "\r\n\t" or (char.isprintable() and not invisible(char))
    )
    return " ".join(text.split())


def _check_rates(
    conversation: Conversation | None, ip: str | None, phone: str, now: dt.datetime
) -> None:
    since = now - dt.timedelta(seconds=settings.ASSISTANT_RATE_WINDOW_SECONDS)
    recent = ConversationMessage.objects.filter(author=MessageAuthor.PATIENT, created_at__gte=since)
    checks = []
    if conversation is not None:
        checks.append(
            (recent.filter(conversation=conversation), settings.ASSISTANT_RATE_PER_CONVERSATION)
        )
    if ip:
        checks.append((recent.filter(ip=ip), settings.ASSISTANT_RATE_PER_IP))
    if phone:
        checks.append((recent.filter(conversation__phone=phone), settings.ASSISTANT_RATE_PER_PHONE))
    for queryset, limit in checks:
        if queryset.count() >= limit:
            raise _refuse(
                AssistantError.RATE_LIMITED,
                _("Too many messages. Please wait a few minutes and write again."),
            )


def _conversation(
    conversation_id: str | None, channel: str, phone: str, language: str, now: dt.datetime
) -> Conversation | None:
    """The conversation a message belongs to (locked), or None for a new web one."""
    if channel == ConversationChannel.WHATSAPP:
        found = (
            Conversation.objects.select_for_update()
            .filter(channel=channel, phone=phone)
            .exclude(status=ConversationStatus.CLOSED)
            .first()
        )
        if found is not None:
            return found
        try:
            with transaction.atomic():
                return Conversation.objects.create(
                    channel=channel, phone=phone, language=language, created_at=now,
                    last_message_at=now,
                )  # fmt: skip
        except IntegrityError:  # another message of this number opened it first
            return (
                Conversation.objects.select_for_update()
                .filter(channel=channel, phone=phone)
                .exclude(status=ConversationStatus.CLOSED)
                .get()
            )
    if not conversation_id:
        return None
    missing = _refuse(
        CommonError.NOT_FOUND,
        _("This conversation does not exist. Start a new one."),
        "conversation_id",
    )
    try:
        public_id = uuid.UUID(str(conversation_id))
    except ValueError as error:
        raise missing from error
    found = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("patient")
        .filter(public_id=public_id, channel=ConversationChannel.WEB)
        .first()
    )
    if found is None:
        raise missing
    if found.status == ConversationStatus.CLOSED:
        raise _refuse(
            AssistantError.CONVERSATION_CLOSED,
            _("This conversation was closed. Start a new one."),
            "conversation_id",
        )
    return found


@transaction.atomic
def assistant_message_handle(
    *,
    conversation_id: str | None,
    text: str,
    channel: str = ConversationChannel.WEB,
    phone: str = "",
    ip: str | None = None,
    language: str = "es",
    now: dt.datetime | None = None,
    reminder_appointment_id: int | None = None,
) -> Reply:
    """Store a message of a visitor or patient and answer it.

    Refused, with nothing written: the assistant turned off (``ASSISTANT_DISABLED``), an empty
    or over-long message, an unknown or closed conversation, and more messages than the rate
    limits allow per conversation, IP address or WhatsApp number (``RATE_LIMITED``).
    ``reminder_appointment_id``: the appointment of the reminder this message answers (a
    WhatsApp reply), which a confirmation or a cancellation then means."""
    now = now or timezone.now()
    language = language if language in LANGUAGES else "es"
    with translation.override(language):
        if not assistant_settings_get().enabled:
            raise _refuse(
                AssistantError.ASSISTANT_DISABLED,
                _("The assistant is not available. Please call the clinic."),
            )
        cleaned = _clean(text)
        if not cleaned:
            raise _refuse(AssistantError.MESSAGE_EMPTY, _("Write a message."))
        if len(cleaned) > settings.ASSISTANT_MAX_MESSAGE_CHARS:
            raise _refuse(
                AssistantError.MESSAGE_TOO_LONG,
                _("Please write at most %(count)d characters.")
                % {"count": settings.ASSISTANT_MAX_MESSAGE_CHARS},
            )
        if ip:
            transaction_lock(f"assistant:ip:{ip}")
        if phone:
            transaction_lock(f"assistant:phone:{phone}")
        conversation = _conversation(conversation_id, channel, phone, language, now)
        _check_rates(conversation, ip, phone, now)
        if conversation is None:
            conversation = Conversation.objects.create(
                channel=ConversationChannel.WEB, language=language, created_at=now,
                last_message_at=now,
            )  # fmt: skip
        message = ConversationMessage.objects.create(
            conversation=conversation,
            author=MessageAuthor.PATIENT,
            text=cleaned,
            ip=ip or None,
            created_at=now,
        )
        answer = _answer(conversation, cleaned, language, now, ip, reminder_appointment_id)
        message.intent = answer.intent
        message.save(update_fields=["intent"])
        if answer.text:
            ConversationMessage.objects.create(
                conversation=conversation,
                author=MessageAuthor.ASSISTANT,
                text=answer.text,
                created_at=now,
            )
        conversation.language = language
        conversation.last_message_at = now
        # Only what this function owns: the tools and the hand-off saved their own fields.
        conversation.save(update_fields=["state", "language", "last_message_at"])
        return Reply(
            conversation=conversation,
            text=answer.text,
            intent=answer.intent,
            quick_replies=answer.quick_replies,
            handed_off=conversation.status
            in (ConversationStatus.HANDED_OFF, ConversationStatus.TAKEN_OVER),
        )


def _answer(
    conversation: Conversation,
    text: str,
    language: str,
    now: dt.datetime,
    ip: str | None,
    reminder_appointment_id: int | None = None,
) -> Answer:
    session = ToolSession(conversation=conversation, now=now, language=language, ip=ip)
    engine = Engine(session, reminder_appointment_id=reminder_appointment_id)
    if conversation.status in (ConversationStatus.HANDED_OFF, ConversationStatus.TAKEN_OVER):
        # A person answers; urgent symptoms still get the clinic's phone and the advice at once.
        urgent = engine.urgent(text)
        if urgent is not None:
            return urgent
        if conversation.status == ConversationStatus.TAKEN_OVER:
            return Answer("", Intent.UNKNOWN)  # a staff member answers, in their own time
        return Answer(
            _("I have let the team know; a person will answer you here shortly."),
            Intent.HUMAN,
        )
    answer = engine.respond(text)
    engine.save_state()
    return answer

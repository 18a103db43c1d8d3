"""What the clinic's staff do with the assistant's conversations: reply, take over, release,
close; and the assistant's settings. Each service is keyword-only, atomic and audited; it
locks the conversation row first, so that it and the assistant's engine (which locks it too)
never act on a stale status.

The trail records who did what to which conversation, never the text of a message: the
transcripts are deleted after the clinic's retention period (``retention.py``), the trail is
not."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.assistant.errors import AssistantError
from backend.assistant.models import (
    RETENTION_DAYS,
    SETTINGS_PK,
    AssistantSettings,
    Conversation,
    ConversationChannel,
    ConversationMessage,
    ConversationStatus,
    MessageAuthor,
)
from backend.assistant.selectors import assistant_settings_get
from backend.audit.services import assign, audit_record
from backend.core.text import TextError, invisible

logger = logging.getLogger(__name__)

# A staff reply is at most this long: WhatsApp's text messages take 4,096 characters.
STAFF_REPLY_MAX_LENGTH = 2000
# Line breaks and tabs are how people write; other control or invisible characters are not.
_ALLOWED_CONTROLS = frozenset("\n\t")


def _locked(conversation: Conversation) -> Conversation:
    return Conversation.objects.select_for_update().get(pk=conversation.pk)


def _refuse_closed(conversation: Conversation) -> None:
    if conversation.status == ConversationStatus.CLOSED:
        raise ValidationError(
            _("This conversation is closed."), code=AssistantError.CONVERSATION_CLOSED
        )


def _reply_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError(
            {"text": ValidationError(_("Write a message."), code=AssistantError.MESSAGE_EMPTY)}
        )
    if len(text) > STAFF_REPLY_MAX_LENGTH:
        raise ValidationError(
            {
                "text": ValidationError(
                    _("At most %(max)d characters.") % {"max": STAFF_REPLY_MAX_LENGTH},
                    code=AssistantError.MESSAGE_TOO_LONG,
                )
            }
        )
    if any(invisible(char) and char not in _ALLOWED_CONTROLS for char in text):
        raise ValidationError(
            {
                "text": ValidationError(
                    _("Write it without control characters."), code=TextError.INVALID_TEXT
                )
            }
        )
    return text


def _whatsapp_sender() -> Callable[[ConversationMessage], Any] | None:
    """The messaging part's ``whatsapp_reply_send`` (it defers the send job in the caller's
    transaction), once it exists."""
    try:
        module = importlib.import_module("backend.assistant.whatsapp")
    except ModuleNotFoundError:
        return None
    return getattr(module, "whatsapp_reply_send", None)


def _status_change(conversation: Conversation, status: str) -> dict[str, dict[str, str]]:
    return {"status": {"from": conversation.status, "to": status}}


@transaction.atomic
def conversation_reply(
    *, actor: User, conversation: Conversation, text: str, now: dt.datetime | None = None
) -> ConversationMessage:
    """Store a staff member's reply; on WhatsApp, send it to the patient. A reply to a
    conversation the assistant still answers (OPEN) or that waits for a person (HANDED_OFF)
    takes it over for the replier: the assistant stops answering. Refused with
    ``CONVERSATION_CLOSED``, ``MESSAGE_EMPTY``, ``MESSAGE_TOO_LONG`` or ``INVALID_TEXT``."""
    text = _reply_text(text)
    conversation = _locked(conversation)
    _refuse_closed(conversation)
    now = now or timezone.now()
    changes: dict[str, Any] = {}
    if conversation.status != ConversationStatus.TAKEN_OVER:
        changes.update(_status_change(conversation, ConversationStatus.TAKEN_OVER))
        conversation.status = ConversationStatus.TAKEN_OVER
        conversation.assigned_to = actor
        changes["assigned_to"] = {"from": "", "to": str(actor.pk)}
    conversation.last_message_at = now
    conversation.save(update_fields=["status", "assigned_to", "last_message_at"])
    message = ConversationMessage.objects.create(
        conversation=conversation, author=MessageAuthor.STAFF, staff=actor, text=text,
        created_at=now,
    )  # fmt: skip
    changes["message"] = message.pk
    audit_record(actor=actor, action="assistant.reply", entity=conversation, changes=changes)
    if conversation.channel == ConversationChannel.WHATSAPP:
        send = _whatsapp_sender()
        if send is None:
            logger.warning(
                "Staff reply %s stored but not sent: WhatsApp replies are not available.",
                message.pk,
            )
        else:
            send(message)
    return message


@transaction.atomic
def conversation_take_over(*, actor: User, conversation: Conversation) -> Conversation:
    """A staff member answers from now on (TAKEN_OVER, assigned to them): the assistant stops
    answering. Taking over one a colleague holds moves it to the caller; taking over one's
    own again changes nothing. Refused with ``CONVERSATION_CLOSED``."""
    conversation = _locked(conversation)
    _refuse_closed(conversation)
    if (
        conversation.status == ConversationStatus.TAKEN_OVER
        and conversation.assigned_to_id == actor.pk
    ):
        return conversation
    changes = _status_change(conversation, ConversationStatus.TAKEN_OVER)
    changes["assigned_to"] = {
        "from": str(conversation.assigned_to_id or ""),
        "to": str(actor.pk),
    }
    conversation.status = ConversationStatus.TAKEN_OVER
    conversation.assigned_to = actor
    conversation.save(update_fields=["status", "assigned_to"])
    audit_record(actor=actor, action="assistant.take_over", entity=conversation, changes=changes)
    return conversation


@transaction.atomic
def conversation_release(*, actor: User, conversation: Conversation) -> Conversation:
    """Give a conversation back to the assistant (OPEN): it answers the next message again.
    The hand-off reason and the assignee are cleared; releasing an OPEN one changes nothing.
    Refused with ``CONVERSATION_CLOSED``."""
    conversation = _locked(conversation)
    _refuse_closed(conversation)
    if conversation.status == ConversationStatus.OPEN:
        return conversation
    changes = _status_change(conversation, ConversationStatus.OPEN)
    conversation.status = ConversationStatus.OPEN
    conversation.assigned_to = None
    conversation.handoff_reason = ""
    conversation.save(update_fields=["status", "assigned_to", "handoff_reason"])
    audit_record(actor=actor, action="assistant.release", entity=conversation, changes=changes)
    return conversation


@transaction.atomic
def conversation_close(
    *, actor: User, conversation: Conversation, now: dt.datetime | None = None
) -> Conversation:
    """Close a conversation: nobody answers it any more, staff replies are refused, and the
    patient's next WhatsApp message starts a new one. Refused with ``CONVERSATION_CLOSED``
    when it already is."""
    conversation = _locked(conversation)
    _refuse_closed(conversation)
    changes = _status_change(conversation, ConversationStatus.CLOSED)
    conversation.status = ConversationStatus.CLOSED
    conversation.closed_at = now or timezone.now()
    conversation.closed_by = actor
    conversation.save(update_fields=["status", "closed_at", "closed_by"])
    audit_record(actor=actor, action="assistant.close", entity=conversation, changes=changes)
    return conversation


@transaction.atomic
def assistant_settings_update(
    *,
    actor: User,
    enabled: bool | None = None,
    transcript_retention_days: int | None = None,
) -> AssistantSettings:
    """Turn the assistant on or off, and set how many days transcripts are kept after their
    last message (30 to 3,650: ``INVALID_RETENTION``). A value left out (None) is kept."""
    low, high = RETENTION_DAYS
    if transcript_retention_days is not None and not low <= transcript_retention_days <= high:
        raise ValidationError(
            {
                "transcript_retention_days": ValidationError(
                    _("Keep transcripts between %(low)d and %(high)d days.")
                    % {"low": low, "high": high},
                    code=AssistantError.INVALID_RETENTION,
                )
            }
        )
    assistant_settings_get()
    row = AssistantSettings.objects.select_for_update().get(pk=SETTINGS_PK)
    values: dict[str, Any] = {}
    if enabled is not None:
        values["enabled"] = enabled
    if transcript_retention_days is not None:
        values["transcript_retention_days"] = transcript_retention_days
    changes = assign(row, values)
    row.updated_at = timezone.now()
    row.save()
    audit_record(actor=actor, action="assistant.update_settings", entity=row, changes=changes)
    return row

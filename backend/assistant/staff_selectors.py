"""Reads of the assistant's conversations for the clinic's staff (the inbox of conversations,
one conversation) and for the visitor of the web widget (the transcript of their own
conversation, by its ``public_id``).

Staff look conversations up by primary key in the current clinic's schema (``NOT_FOUND``
otherwise), so an ID of another clinic names nothing here. The visitor's key is the
conversation's ``public_id``: an unknown, malformed or non-web one is ``NOT_FOUND``,
the same answer whichever it is."""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.assistant.models import (
    Conversation,
    ConversationChannel,
    ConversationMessage,
)
from backend.core.error_codes import CommonError
from backend.core.lookups import get_or_not_found

# A search reads at most this many words: each must match somewhere.
MAX_SEARCH_WORDS = 8


def _fold(text: str) -> str:
    """Lowercase without accents, as ``Patient.search_text`` is stored."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def conversation_list(
    *,
    actor: User,
    statuses: list[str] | None = None,
    channels: list[str] | None = None,
    search: str | None = None,
) -> QuerySet[Conversation]:
    """The clinic's conversations, newest activity first (every role that reads them sees all:
    the front desk answers them). ``search``: each word must match the patient's names or
    document number (accents and case ignored), the WhatsApp number, or a message's text."""
    conversations = Conversation.objects.all()
    if statuses:
        conversations = conversations.filter(status__in=statuses)
    if channels:
        conversations = conversations.filter(channel__in=channels)
    for word in (search or "").split()[:MAX_SEARCH_WORDS]:
        folded = _fold(word)
        matches = Q(patient__search_text__contains=folded) | Q(
            Exists(
                ConversationMessage.objects.filter(
                    conversation=OuterRef("pk"), text__unaccent__icontains=word
                )
            )
        )
        digits = "".join(char for char in word if char.isdigit())
        if digits and len(digits) == len(word.lstrip("+")):
            matches = matches | Q(phone__contains=digits)
        conversations = conversations.filter(matches)
    return conversations.order_by("-last_message_at", "-id")


def conversation_get(*, actor: User, conversation_id: int | str) -> Conversation:
    """One conversation of this clinic; ``NOT_FOUND`` otherwise."""
    return get_or_not_found(Conversation, conversation_id, _("No such conversation."))


@dataclass(frozen=True)
class TranscriptLine:
    author: str  # MessageAuthor
    text: str
    created_at: dt.datetime  # aware (UTC); the API shows it in the clinic's zone


@dataclass(frozen=True)
class Transcript:
    conversation: Conversation
    lines: list[TranscriptLine]


def _not_found() -> ValidationError:
    return ValidationError(
        _("This conversation does not exist. Start a new one."),
        code=CommonError.NOT_FOUND,
    )


def visitor_transcript(*, public_id: str) -> Transcript:
    """The messages of the web conversation whose ``public_id`` the visitor holds, oldest
    first: who wrote each (patient, assistant or staff, never which staff member), its text
    and time. Two statements."""
    try:
        key = uuid.UUID(str(public_id))
    except (ValueError, TypeError, AttributeError):
        raise _not_found() from None
    conversation = (
        Conversation.objects.filter(public_id=key, channel=ConversationChannel.WEB)
        .only("pk", "public_id", "status", "channel")
        .first()
    )
    if conversation is None:
        raise _not_found()
    lines = [
        TranscriptLine(author=author, text=text, created_at=created_at)
        for author, text, created_at in ConversationMessage.objects.filter(
            conversation=conversation
        )
        .order_by("created_at", "id")
        .values_list("author", "text", "created_at")
    ]
    return Transcript(conversation=conversation, lines=lines)

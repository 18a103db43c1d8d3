"""Deleting the assistant's transcripts after the clinic's retention period.

A conversation whose last message is older than ``transcript_retention_days`` goes, with its
messages and one-time codes (they cascade), unless a person still owes the patient an answer
(HANDED_OFF or TAKEN_OVER): those stay until a staff member releases or closes them. Every
conversation that stays loses its messages older than the period (a WhatsApp number that
writes every month keeps one conversation open for years). The
deletion runs in batches of ``batch_size`` conversations, at most ``max_batches`` per call (one
transaction: ``tasks.py`` defers another run when more are left), and leaves one audit event
per call with the count: what was deleted, never what it said."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from backend.assistant.models import (
    Conversation,
    ConversationMessage,
    ConversationStatus,
    VerificationCode,
)
from backend.assistant.selectors import assistant_settings_get
from backend.audit.services import audit_record

BATCH_SIZE = 500
MAX_BATCHES = 20
# A person owes these an answer: retention never deletes them.
KEPT_STATUSES = (ConversationStatus.HANDED_OFF, ConversationStatus.TAKEN_OVER)


@dataclass(frozen=True)
class PurgeResult:
    conversations: int  # deleted by this call
    messages: int  # their messages, deleted with them
    cutoff: dt.datetime  # conversations quiet since before this went
    more: bool  # expired conversations are left for another call


def transcripts_purge(
    *,
    now: dt.datetime | None = None,
    batch_size: int = BATCH_SIZE,
    max_batches: int = MAX_BATCHES,
) -> PurgeResult:
    """Delete the current clinic's expired conversations (see the module). Call it inside the
    clinic's transaction."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=assistant_settings_get().transcript_retention_days)
    expired = (
        Conversation.objects.filter(last_message_at__lt=cutoff)
        .exclude(status__in=KEPT_STATUSES)
        .order_by("last_message_at", "pk")
    )
    conversations = messages = 0
    more = False
    for _batch in range(max_batches):
        # Locked and skipped when the assistant is answering one right now: the next run
        # sees it again (its last message is then new, so it stays).
        ids = list(
            expired.select_for_update(skip_locked=True).values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            break
        _total, per_model = Conversation.objects.filter(pk__in=ids).delete()
        conversations += per_model.get(Conversation._meta.label, 0)
        messages += per_model.get("assistant.ConversationMessage", 0)
    else:
        more = expired.exists()
    # A conversation that lives on (a WhatsApp number writing every month, one a person still
    # owes an answer) keeps only its messages and codes of the retention period.
    old_messages = ConversationMessage.objects.filter(created_at__lt=cutoff)
    ids = list(old_messages.values_list("pk", flat=True)[: batch_size * max_batches])
    if ids:
        messages += ConversationMessage.objects.filter(pk__in=ids).delete()[0]
        more = more or old_messages.exists()
    VerificationCode.objects.filter(created_at__lt=cutoff).delete()
    audit_record(
        actor=None,
        actor_email="system:retention",
        action="assistant.purge_transcripts",
        entity_type=Conversation._meta.label_lower,
        changes={
            "conversations": conversations,
            "messages": messages,
            "before": cutoff.isoformat(),
        },
    )
    return PurgeResult(conversations=conversations, messages=messages, cutoff=cutoff, more=more)

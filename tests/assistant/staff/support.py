"""Conversations for the staff-side tests, written straight to the clinic's schema (the
assistant's engine is tested on its own), and what a refusal must leave untouched."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.utils import timezone
from django_tenants.utils import tenant_context
from procrastinate.contrib.django.models import ProcrastinateJob

from backend.assistant.models import (
    AssistantSettings,
    Conversation,
    ConversationMessage,
    VerificationCode,
)
from backend.audit.models import AuditEvent
from tests.conftest import graphql
from tests.ids import global_id

HOST = "clinica1.localhost"
HOST2 = "clinica2.localhost"
PUBLIC = "localhost"


def gid(obj: Any) -> str:
    return global_id("AssistantConversation", obj.pk)


def conversation(
    *,
    messages: Sequence[tuple[str, str]] = (),
    ago: dt.timedelta = dt.timedelta(minutes=5),
    **fields: Any,
) -> Conversation:
    """A conversation whose last message was ``ago``; ``messages``: (author, text), a minute
    apart, the last one ``ago``."""
    last = timezone.now() - ago
    values: dict[str, Any] = {"channel": "WEB", "last_message_at": last}
    values.update(fields)
    values.setdefault("created_at", last - dt.timedelta(minutes=len(messages)))
    row = Conversation.objects.create(**values)
    for index, (author, text) in enumerate(messages):
        ConversationMessage.objects.create(
            conversation=row,
            author=author,
            text=text,
            intent="PRICES" if author == "PATIENT" else "",
            ip="203.0.113.7" if author == "PATIENT" and row.channel == "WEB" else None,
            created_at=last - dt.timedelta(minutes=len(messages) - 1 - index),
        )
    return row


def state(clinic: Any) -> tuple[Any, ...]:
    """Everything the staff side may write, to prove that a refusal wrote nothing."""
    with tenant_context(clinic):
        return (
            list(Conversation.objects.order_by("pk").values()),
            list(ConversationMessage.objects.order_by("pk").values()),
            list(VerificationCode.objects.order_by("pk").values()),
            list(AssistantSettings.objects.values()),
            list(AuditEvent.objects.order_by("pk").values_list("pk", "action")),
            ProcrastinateJob.objects.count(),
        )


def ask(client: Any, query: str, token: str | None = None, host: str = HOST, **variables: Any):
    status, body = graphql(client, query, host=host, token=token, variables=variables)
    assert status in (200, 400, 401, 403), body
    return body

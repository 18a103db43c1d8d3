"""The web widget's transcript of its own conversation: on the clinic's domain, without a
token, keyed by the ``conversationId`` the widget got from ``assistantMessage``. It shows who
wrote each message (patient, assistant or staff) but never which staff member, nor what the
assistant understood."""

from __future__ import annotations

import datetime as dt

import strawberry

from backend.assistant import staff_selectors
from graphql_api.assistant.staff_types import ConversationStatus, MessageAuthor
from graphql_api.core.context import Info
from graphql_api.core.docstrings import graphql_type
from graphql_api.core.permissions import tenant_only


@graphql_type
class AssistantTranscriptMessage:
    """One message of the visitor's conversation."""

    author: MessageAuthor
    text: str
    created_at: dt.datetime = strawberry.field(description="When, with the clinic's offset.")


@graphql_type
class AssistantTranscript:
    """The visitor's conversation so far, oldest message first, and who answers it now."""

    conversation_id: strawberry.ID
    status: ConversationStatus
    messages: list[AssistantTranscriptMessage]


@strawberry.type
class Query:
    @strawberry.field(
        extensions=tenant_only(),
        description="The web widget's conversation, by the conversationId it holds (no token): "
        "the messages so far, the staff's replies included. Unknown → NOT_FOUND.",
    )
    def assistant_transcript(
        self, info: Info, conversation_id: strawberry.ID
    ) -> AssistantTranscript:
        transcript = staff_selectors.visitor_transcript(public_id=str(conversation_id))
        return AssistantTranscript(
            conversation_id=strawberry.ID(str(transcript.conversation.public_id)),
            status=ConversationStatus(transcript.conversation.status),
            messages=[
                AssistantTranscriptMessage(
                    author=MessageAuthor(line.author),
                    text=line.text,
                    created_at=line.created_at,
                )
                for line in transcript.lines
            ],
        )

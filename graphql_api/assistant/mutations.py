"""The assistant's one public operation: the clinic's web widget calls it without a token."""

from __future__ import annotations

import strawberry
import strawberry_django

from backend.assistant import services
from backend.audit.context import current_origin
from graphql_api.assistant.types import AssistantMessageInput, AssistantReply
from graphql_api.core.context import Info
from graphql_api.core.permissions import tenant_only


def _language(info: Info) -> str:
    """English when the client prefers it (Accept-Language: en…), else Spanish."""
    header = info.context.request.headers.get("Accept-Language", "")
    first = header.split(",")[0].split(";")[0].strip().lower()
    return "en" if first.startswith("en") else "es"


@strawberry.type
class Mutation:
    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=tenant_only(),
        description="Send a message to the clinic's assistant, as a visitor of its web site "
        "(no token needed). Without conversationId a new conversation starts. Refused with "
        "RATE_LIMITED after too many messages from one conversation or address.",
    )
    def assistant_message(self, info: Info, input: AssistantMessageInput) -> AssistantReply:
        reply = services.assistant_message_handle(
            conversation_id=input.conversation_id,
            text=input.text,
            ip=current_origin().ip,
            language=_language(info),
        )
        return AssistantReply(
            conversation_id=strawberry.ID(str(reply.conversation.public_id)),
            text=reply.text,
            intent=reply.intent,
            quick_replies=reply.quick_replies,
            handed_off=reply.handed_off,
        )

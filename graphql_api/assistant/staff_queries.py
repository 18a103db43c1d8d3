"""Reading the assistant's conversations (the front desk) and its settings (admins)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import strawberry
import strawberry_django
from strawberry import relay

from backend.assistant import staff_selectors
from backend.assistant.models import Conversation as ConversationModel
from backend.assistant.models import ConversationChannel, ConversationStatus
from backend.assistant.permissions import AssistantPermission
from backend.assistant.selectors import assistant_settings_get
from graphql_api.assistant.staff_types import AssistantConversation, AssistantSettings
from graphql_api.core.context import Info
from graphql_api.core.ids import decode_id
from graphql_api.core.pagination import ListConnection
from graphql_api.core.permissions import clinic_permission

VIEW = AssistantPermission.VIEW_CONVERSATIONS
MANAGE = AssistantPermission.MANAGE_ASSISTANT


def conversation_of(info: Info, global_id: relay.GlobalID) -> ConversationModel:
    """The conversation a staff member names; ``NOT_FOUND`` for an ID of another type or
    clinic."""
    return staff_selectors.conversation_get(
        actor=info.context.require_user(),
        conversation_id=decode_id(global_id, "AssistantConversation"),
    )


@strawberry.type
class Query:
    @strawberry_django.connection(
        ListConnection[AssistantConversation],
        extensions=clinic_permission(VIEW),
        description="The assistant's conversations, newest activity first. `search`: each "
        "word must match the patient's names or document (accents and case ignored), the "
        "WhatsApp number, or a message.",
    )
    def assistant_conversations(
        self,
        info: Info,
        status: list[ConversationStatus] | None = None,
        channel: list[ConversationChannel] | None = None,
        search: str | None = None,
    ) -> Iterable[ConversationModel]:
        return staff_selectors.conversation_list(
            actor=info.context.require_user(),
            statuses=[s.value for s in status] if status else None,
            channels=[c.value for c in channel] if channel else None,
            search=search,
        )

    @strawberry_django.field(
        extensions=clinic_permission(VIEW),
        description="One conversation of the assistant, with its messages.",
    )
    def assistant_conversation(self, info: Info, id: relay.GlobalID) -> AssistantConversation:
        return cast(AssistantConversation, conversation_of(info, id))

    @strawberry_django.field(
        extensions=clinic_permission(MANAGE),
        description="Whether the assistant answers, and how long its transcripts are kept.",
    )
    def assistant_settings(self, info: Info) -> AssistantSettings:
        return cast(AssistantSettings, assistant_settings_get())

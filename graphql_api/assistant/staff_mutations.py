"""The front desk answering the assistant's conversations, and admins setting it up. Each
change is atomic and audited; a refusal is an ``OperationInfo`` with its code and writes
nothing."""

from __future__ import annotations

from typing import cast

import strawberry
import strawberry_django
from strawberry import relay

from backend.assistant import staff
from backend.assistant.permissions import AssistantPermission
from graphql_api.assistant.staff_queries import conversation_of
from graphql_api.assistant.staff_types import AssistantConversation, AssistantSettings
from graphql_api.core.context import Info
from graphql_api.core.permissions import clinic_permission

HANDLE = AssistantPermission.HANDLE_CONVERSATIONS
MANAGE = AssistantPermission.MANAGE_ASSISTANT


@strawberry.type
class Mutation:
    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(HANDLE),
        description="Answer the patient as yourself (on WhatsApp the reply is sent to their "
        "phone). A conversation the assistant still answered is taken over by you. Refused "
        "with CONVERSATION_CLOSED, MESSAGE_EMPTY, MESSAGE_TOO_LONG (over 2,000 characters) or "
        "INVALID_TEXT.",
    )
    def reply_to_assistant_conversation(
        self, info: Info, id: relay.GlobalID, text: str
    ) -> AssistantConversation:
        message = staff.conversation_reply(
            actor=info.context.require_user(), conversation=conversation_of(info, id), text=text
        )
        return cast(AssistantConversation, message.conversation)

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(HANDLE),
        description="Answer this conversation yourself: the assistant stops answering it. "
        "Refused with CONVERSATION_CLOSED.",
    )
    def take_over_assistant_conversation(
        self, info: Info, id: relay.GlobalID
    ) -> AssistantConversation:
        return cast(
            AssistantConversation,
            staff.conversation_take_over(
                actor=info.context.require_user(), conversation=conversation_of(info, id)
            ),
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(HANDLE),
        description="Give the conversation back to the assistant: it answers the next message. "
        "Refused with CONVERSATION_CLOSED.",
    )
    def release_assistant_conversation(
        self, info: Info, id: relay.GlobalID
    ) -> AssistantConversation:
        return cast(
            AssistantConversation,
            staff.conversation_release(
                actor=info.context.require_user(), conversation=conversation_of(info, id)
            ),
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(HANDLE),
        description="Close the conversation: nobody answers it any more, and the patient's next "
        "WhatsApp message starts a new one. Refused with CONVERSATION_CLOSED when it already is.",
    )
    def close_assistant_conversation(self, info: Info, id: relay.GlobalID) -> AssistantConversation:
        return cast(
            AssistantConversation,
            staff.conversation_close(
                actor=info.context.require_user(), conversation=conversation_of(info, id)
            ),
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        extensions=clinic_permission(MANAGE),
        description="Turn the assistant on or off, and set how many days transcripts are kept "
        "after their last message (30 to 3,650, else INVALID_RETENTION); fields left out stay.",
    )
    def update_assistant_settings(
        self,
        info: Info,
        enabled: bool | None = None,
        transcript_retention_days: int | None = None,
    ) -> AssistantSettings:
        return cast(
            AssistantSettings,
            staff.assistant_settings_update(
                actor=info.context.require_user(),
                enabled=enabled,
                transcript_retention_days=transcript_retention_days,
            ),
        )

"""Permissions of the patient assistant's staff side."""

from enum import StrEnum

from backend.accounts.models import Role
from backend.accounts.permissions import Grant


class AssistantPermission(StrEnum):
    VIEW_CONVERSATIONS = "assistant.view"
    HANDLE_CONVERSATIONS = "assistant.handle"
    MANAGE_ASSISTANT = "assistant.manage"


GRANTS = (
    Grant(
        AssistantPermission.VIEW_CONVERSATIONS,
        frozenset({Role.ADMIN, Role.RECEPTIONIST}),
        "Read the assistant's conversations with patients and visitors",
    ),
    Grant(
        AssistantPermission.HANDLE_CONVERSATIONS,
        frozenset({Role.ADMIN, Role.RECEPTIONIST}),
        "Reply to, take over, release and close the assistant's conversations",
    ),
    Grant(
        AssistantPermission.MANAGE_ASSISTANT,
        frozenset({Role.ADMIN}),
        "Turn the assistant on or off and set how long its transcripts are kept",
    ),
)

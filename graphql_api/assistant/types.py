"""What the assistant answers a visitor or a patient."""

from __future__ import annotations

import strawberry

from backend.assistant.engine import Intent

AssistantIntent = strawberry.enum(
    Intent, name="AssistantIntent", description="What the assistant understood from a message."
)


@strawberry.input(description="A message to the clinic's assistant.")
class AssistantMessageInput:
    conversation_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The conversation to continue, as a previous reply gave it; none starts "
        "a new one.",
    )
    text: str = strawberry.field(description="What the visitor wrote (at most 500 characters).")


@strawberry.type(description="The assistant's answer to one message.")
class AssistantReply:
    conversation_id: strawberry.ID = strawberry.field(
        description="Send it back with the next message to continue this conversation. Keep it "
        "private: whoever holds it continues the conversation."
    )
    text: str = strawberry.field(
        description="What the visitor sees: Spanish, or English with Accept-Language: en. Empty "
        "while a staff member answers the conversation."
    )
    intent: AssistantIntent = strawberry.field(  # type: ignore[valid-type]
        description="What the assistant understood from this message."
    )
    quick_replies: list[str] = strawberry.field(
        description="Suggested answers (times, “Sí”, “No”...)."
    )
    handed_off: bool = strawberry.field(description="A person of the clinic will take over.")

"""Error codes of the patient assistant."""

from enum import StrEnum


class AssistantError(StrEnum):
    """An unknown conversation is the shared ``NOT_FOUND`` (backend.core.error_codes)."""

    ASSISTANT_DISABLED = "ASSISTANT_DISABLED"
    """The clinic has the patient assistant turned off."""
    CONVERSATION_CLOSED = "CONVERSATION_CLOSED"
    """The conversation is closed: start a new one."""
    INVALID_RETENTION = "INVALID_RETENTION"
    """Transcript retention out of the allowed range of days."""
    MESSAGE_EMPTY = "MESSAGE_EMPTY"
    """The message is empty."""
    MESSAGE_TOO_LONG = "MESSAGE_TOO_LONG"
    """The message is over the assistant's length limit."""
    RATE_LIMITED = "RATE_LIMITED"
    """Too many messages for this conversation, address or number: try again later."""

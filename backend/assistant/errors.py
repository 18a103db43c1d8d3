"""Error codes of the patient assistant."""

from enum import StrEnum


class AssistantError(StrEnum):
    """An unknown conversation is the shared ``NOT_FOUND`` (backend.core.error_codes)."""

    ASSISTANT_DISABLED = "ASSISTANT_DISABLED"
    CONVERSATION_CLOSED = "CONVERSATION_CLOSED"
    INVALID_RETENTION = "INVALID_RETENTION"
    MESSAGE_EMPTY = "MESSAGE_EMPTY"
    MESSAGE_TOO_LONG = "MESSAGE_TOO_LONG"
    RATE_LIMITED = "RATE_LIMITED"

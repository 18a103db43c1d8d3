"""Error codes of patient messaging."""

from enum import StrEnum


class NotificationError(StrEnum):
    PLAN_LIMIT_REACHED = "PLAN_LIMIT_REACHED"
    """The plan's monthly message quota is used up."""
    OPTED_OUT = "OPTED_OUT"
    """The patient asked for no messages."""
    NO_CONTACT = "NO_CONTACT"
    """No phone or email for any allowed channel."""
    UNKNOWN_PLACEHOLDER = "UNKNOWN_PLACEHOLDER"
    """A template names a placeholder we do not know."""
    INVALID_TEMPLATE = "INVALID_TEMPLATE"
    """The template's text is empty or not valid for its channel."""
    INVALID_RULE = "INVALID_RULE"
    """A notification rule with no channel, a repeated channel or a timing out of range."""
    INVALID_QUIET_HOURS = "INVALID_QUIET_HOURS"
    """Quiet hours that start and end at the same time."""
    NOT_RESENDABLE = "NOT_RESENDABLE"
    """Only a message that was sent, failed, skipped or held can be sent again."""
    PROVIDER_REJECTED = "PROVIDER_REJECTED"
    """A 4xx: a bad number, a blocked recipient."""
    PROVIDER_UNAVAILABLE = "PROVIDER_UNAVAILABLE"
    """5xx or timeout, after the retries."""

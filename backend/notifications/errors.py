"""Error codes of patient messaging."""

from enum import StrEnum


class NotificationError(StrEnum):
    PLAN_LIMIT_REACHED = "PLAN_LIMIT_REACHED"  # the plan's monthly message quota is used up
    OPTED_OUT = "OPTED_OUT"  # the patient asked for no messages
    NO_CONTACT = "NO_CONTACT"  # no phone or email for any allowed channel
    UNKNOWN_PLACEHOLDER = "UNKNOWN_PLACEHOLDER"  # a template names a placeholder we do not know
    INVALID_TEMPLATE = "INVALID_TEMPLATE"
    INVALID_RULE = "INVALID_RULE"
    INVALID_QUIET_HOURS = "INVALID_QUIET_HOURS"
    NOT_RESENDABLE = "NOT_RESENDABLE"
    PROVIDER_REJECTED = "PROVIDER_REJECTED"  # a 4xx: a bad number, a blocked recipient
    PROVIDER_UNAVAILABLE = "PROVIDER_UNAVAILABLE"  # 5xx or timeout, after the retries
    INVALID_LINK = "INVALID_LINK"  # a confirmation link that is forged, expired or used up

"""Error codes of authentication and staff management."""

from enum import StrEnum


class AuthError(StrEnum):
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    """The email or the password is not correct (the same answer for an unknown email)."""
    LOGIN_THROTTLED = "LOGIN_THROTTLED"
    """Too many failed sign-ins for this email or address: wait the minutes the message says."""


class StaffError(StrEnum):
    EMAIL_TAKEN = "EMAIL_TAKEN"
    """Another staff user of this clinic has this email."""
    INVALID_EMAIL = "INVALID_EMAIL"
    """Not a valid email address."""
    INVALID_NAME = "INVALID_NAME"
    """The name is missing or too long."""
    INVALID_PASSWORD = "INVALID_PASSWORD"
    """The password is refused by the password rules (too short, too common…)."""
    LAST_ADMIN = "LAST_ADMIN"
    """The change would leave the clinic without an active ADMIN."""
    ALREADY_INACTIVE = "ALREADY_INACTIVE"
    """The staff user is already deactivated."""

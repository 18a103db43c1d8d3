"""Error codes of authentication and staff management."""

from enum import StrEnum


class AuthError(StrEnum):
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    LOGIN_THROTTLED = "LOGIN_THROTTLED"


class StaffError(StrEnum):
    EMAIL_TAKEN = "EMAIL_TAKEN"
    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_NAME = "INVALID_NAME"
    INVALID_PASSWORD = "INVALID_PASSWORD"
    LAST_ADMIN = "LAST_ADMIN"
    ALREADY_INACTIVE = "ALREADY_INACTIVE"

"""Error codes of the clinic's profile, opening hours and closures."""

from enum import StrEnum


class ClinicAdminError(StrEnum):
    TOO_LONG = "TOO_LONG"
    """A text is longer than its field allows."""
    INVALID_TEXT = "INVALID_TEXT"
    """A text holds control characters."""
    INVALID_UBIGEO = "INVALID_UBIGEO"
    """Not a ubigeo: 6 digits, the first two a department from 01 to 25."""
    INVALID_URL = "INVALID_URL"
    """A web address that does not start with http:// or https://."""
    INVALID_CURRENCY = "INVALID_CURRENCY"
    """Not an ISO 4217 currency code the clinic can use."""
    INVALID_DURATION = "INVALID_DURATION"
    """A default appointment length outside 5–480 minutes in steps of 5."""
    INVALID_WEEKDAY = "INVALID_WEEKDAY"
    """A weekday outside 1 (Monday) to 7 (Sunday)."""
    INVALID_TIME_RANGE = "INVALID_TIME_RANGE"
    """An opening range that does not end after it starts, or a time with an offset."""
    SHIFT_OVERLAP = "SHIFT_OVERLAP"
    """Two opening ranges of one day overlap."""
    TOO_MANY_SHIFTS = "TOO_MANY_SHIFTS"
    """More opening ranges than allowed."""
    INVALID_DATE_RANGE = "INVALID_DATE_RANGE"
    """A closure that ends before it starts, or dates outside 2000–2100."""

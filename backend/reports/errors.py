"""Error codes of the reports."""

from enum import StrEnum


class ReportError(StrEnum):
    INVALID_DATE_RANGE = "INVALID_DATE_RANGE"
    """A range that ends before it starts, is too long, or falls outside 2000–2100."""

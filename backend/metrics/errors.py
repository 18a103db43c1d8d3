"""Error codes of the platform metrics. Clients branch on these codes."""

from enum import StrEnum


class MetricsError(StrEnum):
    INVALID_DATE_RANGE = "INVALID_DATE_RANGE"
    """To < from, or more than 366 days."""

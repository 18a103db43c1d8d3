"""Error codes of the reports."""

from enum import StrEnum


class ReportError(StrEnum):
    INVALID_DATE_RANGE = "INVALID_DATE_RANGE"

"""Error codes of the patients domain."""

from enum import StrEnum


class PatientError(StrEnum):
    INVALID_NAME = "INVALID_NAME"
    """A first or last name is missing."""
    INVALID_DOCUMENT = "INVALID_DOCUMENT"
    """An unknown document type, or a number not valid for its type."""
    DOCUMENT_TAKEN = "DOCUMENT_TAKEN"
    """Another patient has this document."""
    INVALID_BIRTH_DATE = "INVALID_BIRTH_DATE"
    """A birth date in the future or too far in the past."""
    TOO_LONG = "TOO_LONG"
    """A text is longer than its field allows."""
    ALREADY_ARCHIVED = "ALREADY_ARCHIVED"
    """The patient is already archived."""

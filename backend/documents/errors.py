"""Error codes of patient documents. File-level refusals (a wrong type, a corrupt file, an
oversize upload) are the files app's codes (``backend/files/errors.py``); a bad tooth is the
clinical app's ``INVALID_TOOTH``."""

from enum import StrEnum


class DocumentError(StrEnum):
    INVALID_KIND = "INVALID_KIND"
    """An unknown kind of document."""
    ARCHIVED = "DOCUMENT_ARCHIVED"
    """The document is already archived."""
    NOT_ARCHIVED = "DOCUMENT_NOT_ARCHIVED"
    """The document is not archived."""
    INVALID_DATE = "INVALID_DATE"
    """A date in the future."""
    TOO_LONG = "TOO_LONG"
    """A text is longer than its field allows."""

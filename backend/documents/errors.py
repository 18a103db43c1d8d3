"""Error codes of patient documents. File-level refusals (a wrong type, a corrupt file, an
oversize upload) are the files app's codes (``backend/files/errors.py``); a bad tooth is the
clinical app's ``INVALID_TOOTH``."""

from enum import StrEnum


class DocumentError(StrEnum):
    INVALID_KIND = "INVALID_KIND"
    ARCHIVED = "DOCUMENT_ARCHIVED"
    NOT_ARCHIVED = "DOCUMENT_NOT_ARCHIVED"
    INVALID_DATE = "INVALID_DATE"
    TOO_LONG = "TOO_LONG"

"""Error codes of file uploads and downloads."""

from enum import StrEnum


class FileError(StrEnum):
    FILE_MISSING = "FILE_MISSING"
    """No file where one was expected, or an empty one."""
    TOO_MANY_FILES = "TOO_MANY_FILES"
    """Two files for one field, or a file no field takes."""
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    """Over the limit of its kind (or MAX_UPLOAD_BYTES)."""
    FILE_TYPE_NOT_ALLOWED = "FILE_TYPE_NOT_ALLOWED"
    """The bytes are not a type this field takes."""
    FILE_CORRUPT = "FILE_CORRUPT"
    """The right type, but truncated or unreadable."""
    IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"
    """Too many pixels (a decompression bomb)."""
    FILE_UNAVAILABLE = "FILE_UNAVAILABLE"
    """Its object cannot be read from storage (503)."""
    LINK_INVALID = "LINK_INVALID"
    """A download link that is forged or of another clinic."""
    LINK_EXPIRED = "LINK_EXPIRED"
    """A download link past its lifetime."""

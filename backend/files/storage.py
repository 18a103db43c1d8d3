"""Where the objects live: the default storage (``STORAGES["default"]``: the local disk under
MEDIA_ROOT, or S3), under keys that name the clinic and nothing guessable."""

from __future__ import annotations

import re
import secrets
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

from backend.files.models import StoredFile

_EXTENSION = re.compile(r"^(\.[a-z0-9]{1,8})?$")
ROOT = "clinics"


def clinic_prefix(schema_name: str) -> str:
    """Every object of a clinic lives under this prefix (backups and the orphan sweep list it)."""
    return f"{ROOT}/{schema_name}/"


def current_schema() -> str:
    tenant = getattr(connection, "tenant", None)
    schema = getattr(tenant, "schema_name", None)
    if not schema or schema == "public":
        raise RuntimeError("files are stored in a clinic's schema only")
    return str(schema)


def new_key(purpose: str, extension: str) -> str:
    """``clinics/<schema>/<purpose>/<192 random bits><extension>``."""
    if not _EXTENSION.match(extension):
        raise ValueError(f"bad extension {extension!r}")
    return f"{clinic_prefix(current_schema())}{purpose}/{secrets.token_urlsafe(24)}{extension}"


def object_write(key: str, content: bytes) -> None:
    saved = default_storage.save(key, ContentFile(content))
    if saved != key:  # the storage renamed it: never expected with 192 random bits
        default_storage.delete(saved)
        raise RuntimeError(f"storage renamed {key!r} to {saved!r}")


def object_delete(key: str) -> None:
    default_storage.delete(key)


def object_exists(key: str) -> bool:
    return bool(default_storage.exists(key))


def file_open(stored: StoredFile) -> IO[bytes]:
    """The object as a binary file (the caller closes it)."""
    return default_storage.open(stored.key, "rb")


def file_read(stored: StoredFile) -> bytes:
    with file_open(stored) as file:
        return file.read()

"""Storing and deleting files. Domain apps (the logo, patient documents) validate the content
first and call these inside their own transaction."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any

from django.db import connection, transaction

from backend.files.models import StoredFile
from backend.files.storage import new_key, object_delete, object_write
from tenants_core.limits import limit_reserve

_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")


def clean_name(name: str) -> str:
    """A file name fit to show and to send back in ``Content-Disposition``: its last path
    component, no control or invisible format characters (a right-to-left override would
    show ``informe\u202efdp.exe`` as ``informeexe.pdf``), at most 255 characters."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        "_" if unicodedata.category(char) in ("Cf", "Zl", "Zp") else char for char in name
    )
    name = _UNSAFE_NAME.sub("_", name).strip(" .")
    return name[-255:]


def file_store(
    *,
    content: bytes,
    purpose: str,
    content_type: str,
    extension: str,
    original_name: str = "",
    actor: Any = None,
    width: int | None = None,
    height: int | None = None,
) -> StoredFile:
    """Store ``content`` (already validated) for the current clinic and return its row.

    Call it inside the service's transaction, after every check: the quota is reserved under
    the clinic's row lock (``PLAN_LIMIT_REACHED``), the row is inserted, and the object is
    written last, so a failed write rolls the row back with the transaction. If the
    transaction rolls back after this returns, the object stays without a row until the orphan
    sweep (``backend.files.tasks``) removes it."""
    if not connection.in_atomic_block:
        raise RuntimeError("file_store must run inside a transaction")
    limit_reserve(resource="storage_bytes", adding=len(content))
    stored = StoredFile.objects.create(
        key=new_key(purpose, extension),
        purpose=purpose,
        content_type=content_type,
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        original_name=clean_name(original_name),
        width=width,
        height=height,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    object_write(stored.key, content)
    return stored


def file_delete(stored: StoredFile) -> None:
    """Delete the row now and the object once the transaction commits (a rollback keeps
    both). An object whose deletion fails is left to the orphan sweep."""
    key = stored.key
    stored.delete()
    transaction.on_commit(lambda: object_delete(key), robust=True)

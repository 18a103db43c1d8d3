"""The clinic's stored files in its backups: what ``tenants_core``'s backups and restores ask
of storage (``tenants_core.clinic_hooks.FileKeeper``), registered by ``FilesConfig.ready``.

A backup lists the objects the clinic's rows name (key, size, SHA-256) and streams each one
into the sealed archive; a restore writes each back under the restored clinic's prefix and
moves the rows' keys there.
"""

from __future__ import annotations

import contextlib
from typing import IO, Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db.backends.utils import CursorWrapper
from psycopg2 import sql

from backend.files.models import StoredFile
from backend.files.storage import clinic_prefix
from tenants_core.clinic_hooks import StoredObject


def _table(schema: str) -> sql.Identifier:
    return sql.Identifier(schema, StoredFile._meta.db_table)


class StorageFileKeeper:
    """The clinic files of the default storage (local disk or S3), for backups."""

    def prefix(self, schema: str) -> str:
        return clinic_prefix(schema)

    def listed(self, cursor: CursorWrapper, schema: str) -> list[StoredObject]:
        cursor.execute(
            sql.SQL("SELECT key, size_bytes, sha256 FROM {} ORDER BY id")
            .format(_table(schema))
            .as_string(cursor.connection)
        )
        return [StoredObject(key, int(size), sha256) for key, size, sha256 in cursor.fetchall()]

    def open(self, key: str) -> IO[bytes]:
        bucket = getattr(default_storage, "bucket", None)
        if bucket is not None and not getattr(default_storage, "location", ""):
            # S3: stream the body; storages' S3File would spool it whole to a temporary file
            # first (plaintext on disk, and the file's size in memory or /tmp).
            from botocore.exceptions import ClientError

            try:
                body: IO[bytes] = bucket.Object(key).get()["Body"]
                return body
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                    raise FileNotFoundError(key) from None
                raise
        return default_storage.open(key, "rb")

    def exists(self, key: str) -> bool:
        return bool(default_storage.exists(key))

    def write(self, key: str, source: IO[bytes]) -> None:
        with contextlib.suppress(FileNotFoundError):
            default_storage.delete(key)  # replaced, under exactly this key
        saved = default_storage.save(key, _Stream(source, key))
        if saved != key:
            default_storage.delete(saved)
            raise RuntimeError(f"storage renamed {key!r} to {saved!r}")

    def delete(self, key: str) -> None:
        default_storage.delete(key)

    def rekey(self, cursor: CursorWrapper, schema: str, old_prefix: str, new_prefix: str) -> None:
        cursor.execute(
            sql.SQL("UPDATE {} SET key = %s || substr(key, %s) WHERE starts_with(key, %s)")
            .format(_table(schema))
            .as_string(cursor.connection),
            [new_prefix, len(old_prefix) + 1, old_prefix],
        )


class _Stream(File):
    """A read-once stream as a Django ``File``: read in chunks, never sought nor sized first."""

    def __init__(self, source: Any, name: str) -> None:
        super().__init__(source, name)
        self._source = source

    @property
    def closed(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def chunks(self, chunk_size: int | None = None) -> Any:
        while data := self._source.read(chunk_size or self.DEFAULT_CHUNK_SIZE):
            yield data

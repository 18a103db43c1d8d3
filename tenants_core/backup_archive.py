"""The clinic backup file: writing, opening and verifying one (``tenants_core.backups`` makes
and records them, ``tenants_core.restore`` loads them).

A backup is a ``.tar.gz`` holding ``manifest.json`` first, then one ``data/<table>.tsv`` per
table (PostgreSQL ``COPY`` text format), then one ``files/<n>`` per stored file of the clinic.
The manifest lists the clinic's settings, its applied migrations, every table with its
columns, row count and SHA-256, every sequence's position, and every stored file with its
key, size and SHA-256 (``files``).

- **Format 3** (every backup made now): the ``.tar.gz`` is sealed in chunks
  (``tenants_core.backup_crypto``) under a key of ``BACKUP_ENCRYPTION_KEYS``, and the manifest
  names that key. The sealing authenticates every byte, the manifest and the files included,
  so the backup depends on its key ring alone: ``SECRET_KEY`` can be rotated freely.
- **Format 2** (sealed, made before files were stored): format 3 without ``files``; it is
  read as it is.
- **Format 1** (made before encryption): a plain ``.tar.gz`` whose manifest is signed with an
  HMAC of ``SECRET_KEY``; it verifies against ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS``
  until ``backup_clinic --reseal`` turns it into format 2.

``backup_verify_file`` checks a file completely before anything is written with it, and
every refusal is a coded ``ValidationError``: the file's checksum (``BACKUP_CORRUPTED``), its
key (``BACKUP_KEY_UNKNOWN`` when its key id is not configured, ``BACKUP_KEY_WRONG`` when the
key under that id is another one), every chunk's authentication tag and the gzip and tar
streams (``BACKUP_CORRUPTED``), a format-1 signature and the clinic it belongs to
(``BACKUP_FOREIGN``), and each table's and each file's size and checksum.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import hmac
import io
import json
import logging
import os
import tarfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from backend.core.error_codes import CommonError
from tenants_core import backup_crypto
from tenants_core.errors import PlatformError

logger = logging.getLogger(__name__)

FORMAT = "dental-saas/clinic-backup"
FORMAT_VERSION = 3  # 3: with the stored files; 2: sealed, the manifest names its key
SEALED_FORMAT_VERSIONS = (2, 3)
LEGACY_FORMAT_VERSION = 1  # a plain .tar.gz (before encryption)
MANIFEST = "manifest.json"
CHUNK = 1 << 20
_LEGACY_SIGNATURE_SALT = "tenants_core.backups.manifest"


def backup_keys() -> backup_crypto.KeyRing:
    """The configured ``BACKUP_ENCRYPTION_KEYS`` (checked at start-up by the settings)."""
    return backup_crypto.parse_keys(settings.BACKUP_ENCRYPTION_KEYS)


def backup_error(
    code: PlatformError | CommonError, message: str, field: str = "backup_id"
) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def corrupted() -> ValidationError:
    return backup_error(
        PlatformError.BACKUP_CORRUPTED,
        _("The backup file is damaged: its content does not match its checksum."),
    )


def foreign() -> ValidationError:
    return backup_error(
        PlatformError.BACKUP_FOREIGN,
        _("This backup was not made by this platform for this clinic; it is refused."),
    )


def _legacy_foreign() -> ValidationError:
    return backup_error(
        PlatformError.BACKUP_FOREIGN,
        _(
            "This backup from before encryption is not signed with this platform's SECRET_KEY. "
            "If SECRET_KEY was changed since, list the former key in SECRET_KEY_FALLBACKS to "
            "restore it."
        ),
    )


def _sealing_error(error: backup_crypto.BackupCryptoError) -> ValidationError:
    """The coded refusal for a sealed file that cannot be opened."""
    if isinstance(error, backup_crypto.BackupKeyUnknown):
        return backup_error(
            PlatformError.BACKUP_KEY_UNKNOWN,
            _(
                "The backup is encrypted with the key “%(key_id)s”, which is not configured: "
                "add it to BACKUP_ENCRYPTION_KEYS to restore this backup."
            )
            % {"key_id": error.key_id},
        )
    if isinstance(error, backup_crypto.BackupKeyWrong):
        return backup_error(
            PlatformError.BACKUP_KEY_WRONG,
            _(
                "The backup is encrypted with another key than the one configured as "
                "“%(key_id)s”: put the key it was made with in BACKUP_ENCRYPTION_KEYS to "
                "restore this backup."
            )
            % {"key_id": error.key_id},
        )
    if isinstance(error, backup_crypto.UnsupportedVersion):
        return _newer()
    return backup_error(
        PlatformError.BACKUP_CORRUPTED,
        _("The backup file is damaged or was altered: part of it does not authenticate."),
    )


def _newer() -> ValidationError:
    return backup_error(
        PlatformError.BACKUP_INCOMPATIBLE,
        _("The backup file comes from a newer version of the platform."),
    )


def fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable before a record points at the new name."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- writing ------------------------------------------------------------------------------


class DigestingSink:
    """Writes through to ``file``, keeping the SHA-256 and size of what went to disk."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._file.write(data)
        self.sha256.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        self._file.flush()


def write_archive(
    sink: Any,
    key: backup_crypto.BackupKey,
    manifest: dict[str, Any],
    members: Iterable[tuple[str, int, IO[bytes]]],
) -> None:
    """tar (streamed) → gzip → sealed chunks → ``sink``: the manifest first, then each
    ``(name, size, source)`` member, read from ``source`` as it is written. When anything
    raises, the last chunk is never sealed, so what reached ``sink`` does not open."""
    with (
        backup_crypto.SealingWriter(sink, key) as sealed,
        gzip.GzipFile(fileobj=sealed, mode="wb", compresslevel=6, mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w|") as archive,
    ):
        body = json.dumps(manifest, indent=1, sort_keys=True).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mode = len(body), 0o600
        archive.addfile(info, io.BytesIO(body))
        for name, size, source in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode = size, 0o600
            archive.addfile(info, source)


def sealed_manifest(manifest: dict[str, Any], key_id: str) -> dict[str, Any]:
    """``manifest`` as a sealed backup with ``key_id`` records it (for a reseal); its members
    are unchanged, so a manifest without ``files`` stays one (format 3 with no files)."""
    unsigned = {name: value for name, value in manifest.items() if name != "signature"}
    return {**unsigned, "format_version": FORMAT_VERSION, "key_id": key_id}


# --- reading ------------------------------------------------------------------------------


class HashingReader:
    """Reads through ``source``, hashing what it hands out; remembers the error it met, for
    callers (``COPY FROM``) that replace it with their own."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self.sha256 = hashlib.sha256()
        self.error: BaseException | None = None

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._source.read(size)
        except BaseException as error:
            self.error = error
            raise
        self.sha256.update(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        try:
            data = self._source.readline(size)
        except BaseException as error:
            self.error = error
            raise
        self.sha256.update(data)
        return data


_READ_ERRORS = (
    tarfile.TarError,
    zlib.error,
    OSError,
    EOFError,
    ValueError,
    KeyError,
    TypeError,
)


@dataclass
class OpenedBackup:
    """A backup file being read front to back: its tar members, in order, in plaintext."""

    archive: tarfile.TarFile
    key_id: str | None  # None: a plain .tar.gz from before encryption
    _compressed: gzip.GzipFile
    _sealed: backup_crypto.OpeningReader | None = field(default=None)

    def finish(self) -> None:
        """Read what is left to the end: the gzip CRC and the last sealed chunk are checked
        only there (a cut-off file fails here, not silently)."""
        while self._compressed.read(CHUNK):
            pass
        if self._sealed is not None:
            while self._sealed.read(CHUNK):
                pass


@contextlib.contextmanager
def backup_open(path: Path) -> Iterator[OpenedBackup]:
    """Open a backup file for one streaming pass, whatever its size. Errors of the file
    (unknown or wrong key, failed authentication, broken gzip or tar) become coded
    ``ValidationError``s — also when they surface while the caller reads the members."""
    try:
        with path.open("rb") as raw:
            sealed: backup_crypto.OpeningReader | None = None
            source: Any = raw
            if raw.read(2) == b"\x1f\x8b":
                raw.seek(0)  # a plain .tar.gz: a backup from before encryption
            else:
                raw.seek(0)
                sealed = backup_crypto.OpeningReader(raw, backup_keys())
                source = sealed
            with (
                gzip.GzipFile(fileobj=source, mode="rb") as compressed,
                tarfile.open(fileobj=compressed, mode="r|") as archive,
            ):
                yield OpenedBackup(archive, sealed.key_id if sealed else None, compressed, sealed)
    except backup_crypto.NotSealed:
        raise corrupted() from None
    except backup_crypto.BackupCryptoError as error:
        logger.warning("backup %s cannot be opened: %s", path, error)
        raise _sealing_error(error) from None
    except _READ_ERRORS as error:
        logger.warning("unreadable backup %s: %s", path, error)
        raise corrupted() from None


def legacy_signature(manifest: dict[str, Any], secret: str) -> str:
    """The HMAC that signed a format-1 manifest, under ``secret`` (a ``SECRET_KEY``)."""
    unsigned = {key: value for key, value in manifest.items() if key != "signature"}
    canonical = json.dumps(unsigned, sort_keys=True, separators=(",", ":"))
    return salted_hmac(
        _LEGACY_SIGNATURE_SALT, canonical, secret=secret, algorithm="sha256"
    ).hexdigest()


def _legacy_signature_valid(manifest: dict[str, Any]) -> bool:
    signature = manifest.get("signature")
    if not isinstance(signature, str):
        return False
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return any(hmac.compare_digest(signature, legacy_signature(manifest, s)) for s in secrets)


def check_manifest(manifest: Any, *, subdomain: str, key_id: str | None) -> None:
    """The manifest is this platform's, of the clinic at ``subdomain``, and says what the file
    is: sealed under ``key_id`` (format 2), or plain and signed (format 1, ``key_id`` None)."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise foreign()
    version = manifest.get("format_version")
    if key_id is None:
        # A plain file that says it was sealed: someone decrypted it.
        if version != LEGACY_FORMAT_VERSION:
            raise corrupted()
        if not _legacy_signature_valid(manifest):
            raise _legacy_foreign()
    else:
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise _newer()
        if version not in SEALED_FORMAT_VERSIONS or manifest.get("key_id") != key_id:
            raise corrupted()
    if manifest.get("subdomain") != subdomain:
        raise foreign()


def manifest_files(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The stored files a manifest lists (none before format 3), each ``{"key", "size",
    "sha256", "file"}``; a malformed list is a damaged backup."""
    files = manifest.get("files", [])
    if not isinstance(files, list):
        raise corrupted()
    for entry in files:
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("key"), str)
            and entry["key"]
            and isinstance(entry.get("size"), int)
            and entry["size"] >= 0
            and isinstance(entry.get("sha256"), str)
            and isinstance(entry.get("file"), str)
            and entry["file"].startswith("files/")
        ):
            raise corrupted()
    return files


def manifest_members(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every member the manifest expects after itself, by member name: its tables, then its
    stored files. A name listed twice is a damaged backup."""
    entries = [*manifest["tables"], *manifest_files(manifest)]
    members = {entry["file"]: entry for entry in entries}
    if len(members) != len(entries):
        raise corrupted()
    return members


class VerifyingReader:
    """One pass over an opened backup that checks everything ``backup_verify_file`` checks,
    handing each member to the caller as it goes: ``manifest`` (read and checked on
    creation), ``members()`` (each table's, then each stored file's stream, with its
    manifest entry; its size and checksum are checked once the caller is done with it),
    then ``finish()``."""

    def __init__(self, opened: OpenedBackup, *, subdomain: str) -> None:
        self._opened = opened
        self._members = iter(opened.archive)
        first = next(self._members, None)
        if first is None or first.name != MANIFEST or not first.isfile():
            raise foreign()
        self.manifest: dict[str, Any] = json.loads(opened.archive.extractfile(first).read())  # type: ignore[union-attr]
        check_manifest(self.manifest, subdomain=subdomain, key_id=opened.key_id)
        self._expected = manifest_members(self.manifest)
        self._seen: set[str] = set()

    def members(self) -> Iterator[tuple[dict[str, Any], tarfile.TarInfo, IO[bytes]]]:
        for member in self._members:
            entry = self._expected.get(member.name)
            if entry is None or member.name in self._seen or not member.isfile():
                raise corrupted()
            if "size" in entry and member.size != entry["size"]:  # a stored file
                raise corrupted()
            self._seen.add(member.name)
            source = HashingReader(self._opened.archive.extractfile(member))  # type: ignore[arg-type]
            yield entry, member, source  # type: ignore[misc]
            while source.read(CHUNK):  # what the caller left unread
                pass
            if not hmac.compare_digest(source.sha256.hexdigest(), entry["sha256"]):
                raise corrupted()

    def finish(self) -> None:
        if self._seen != set(self._expected):
            raise corrupted()
        self._opened.finish()


@dataclass
class VerifiedBackup:
    manifest: dict[str, Any]
    archive_path: Path


def backup_verify_file(
    path: Path, *, subdomain: str, expected_sha256: str | None = None
) -> VerifiedBackup:
    """Check a backup file completely, writing nothing, in one pass over the file (two with
    ``expected_sha256``). Raises ``ValidationError`` with ``BACKUP_NOT_FOUND``,
    ``BACKUP_CORRUPTED``, ``BACKUP_KEY_UNKNOWN``, ``BACKUP_KEY_WRONG``, ``BACKUP_FOREIGN`` or
    ``BACKUP_INCOMPATIBLE``; returns the verified manifest holder."""
    if not path.is_file():
        raise backup_error(PlatformError.BACKUP_NOT_FOUND, _("The backup file is missing."))
    if expected_sha256 is not None and not hmac.compare_digest(sha256_file(path), expected_sha256):
        raise corrupted()
    with backup_open(path) as opened:
        reading = VerifyingReader(opened, subdomain=subdomain)
        for _entry, _member, _source in reading.members():
            pass  # members() reads and checks what the caller leaves
        reading.finish()
    return VerifiedBackup(manifest=reading.manifest, archive_path=path)

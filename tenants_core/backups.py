"""Per-clinic backups ("respaldos"): a checksummed, signed, encrypted logical export of one
clinic's schema, and its restore into a new clinic or over the same one.

A backup is a ``.tar.gz`` holding ``manifest.json`` and one ``data/<table>.tsv`` per table
(PostgreSQL ``COPY`` text format, read in one REPEATABLE READ snapshot), sealed on disk with
AES-256-GCM in chunks (``tenants_core.backup_crypto``) under the first key of
``BACKUP_ENCRYPTION_KEYS``. The manifest lists the clinic's settings, its applied migrations,
every table with its columns, row count and SHA-256, every sequence's position and the key id;
it is signed with an HMAC of ``SECRET_KEY``. The sealed file's own SHA-256, size and key id are
kept in ``ClinicBackup``. No plaintext reaches the disk: each table is spooled sealed under a
key that only the backing-up process holds, then streamed into the archive.

``backup_verify_file`` checks a file completely before a restore (``tenants_core.restore``)
writes anything: the file's checksum (else ``BACKUP_CORRUPTED``), its key (``BACKUP_KEY_UNKNOWN``
when its key id is not configured, ``BACKUP_KEY_WRONG`` when the key under that id is another
one), every chunk's authentication tag (``BACKUP_CORRUPTED``: tampering, truncation), the
signature and that the backup belongs to the clinic named (``BACKUP_FOREIGN``), and each
table's checksum. Backups made before encryption (plain ``.tar.gz``, format 1) are still
verified the same way and restored.
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
import tempfile
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.crypto import salted_hmac
from django.utils.timezone import now as timezone_now
from django.utils.translation import gettext as _

from backend.audit.services import audit_record
from tenants_core import backup_crypto
from tenants_core.errors import PlatformError
from tenants_core.models import Clinic, ClinicBackup
from tenants_core.schema_template import fingerprint_of

logger = logging.getLogger(__name__)

FORMAT = "dental-saas/clinic-backup"
FORMAT_VERSION = 2  # 2: sealed, the manifest names its key; 1: plain .tar.gz (before)
MANIFEST = "manifest.json"
_SIGNATURE_SALT = "tenants_core.backups.manifest"
_CHUNK = 1 << 20
CLINIC_FIELDS = (
    "name",
    "legal_id",
    "email",
    "timezone",
    "restrict_notes_to_author",
    "max_users_override",
    "max_patients_override",
)


def backup_dir() -> Path:
    path = Path(settings.BACKUP_DIR)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def backup_error(code: PlatformError, message: str, field: str = "backup_id") -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def backup_keys() -> backup_crypto.KeyRing:
    """The configured ``BACKUP_ENCRYPTION_KEYS`` (checked at start-up by the settings)."""
    return backup_crypto.parse_keys(settings.BACKUP_ENCRYPTION_KEYS)


# --- reading a schema ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    name: str
    columns: list[str]


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def schema_tables(cursor: Any, schema: str) -> list[_Table]:
    """The schema's tables with their stored (not generated) columns, parents before the
    tables that reference them."""
    cursor.execute(
        """
        SELECT c.relname,
               array_agg(a.attname ORDER BY a.attnum)
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
             AND a.attgenerated = ''
        WHERE n.nspname = %s AND c.relkind IN ('r', 'p')
        GROUP BY c.relname
        ORDER BY c.relname
        """,
        [schema],
    )
    columns = {name: list(cols) for name, cols in cursor.fetchall()}
    cursor.execute(
        """
        SELECT c.relname, r.relname
        FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_class r ON r.oid = k.confrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_namespace rn ON rn.oid = r.relnamespace
        WHERE k.contype = 'f' AND n.nspname = %s AND rn.nspname = %s AND c.oid <> r.oid
        """,
        [schema, schema],
    )
    depends: dict[str, set[str]] = {name: set() for name in columns}
    for child, parent in cursor.fetchall():
        depends[child].add(parent)
    ordered: list[str] = []
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...] = ()) -> None:
        if name in done or name in path:
            return
        for parent in sorted(depends[name]):
            visit(parent, (*path, name))
        done.add(name)
        ordered.append(name)

    for name in sorted(columns):
        visit(name)
    return [_Table(name, columns[name]) for name in ordered]


def _sequences(cursor: Any, schema: str) -> dict[str, list[Any]]:
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind = 'S' ORDER BY c.relname",
        [schema],
    )
    positions: dict[str, list[Any]] = {}
    for (name,) in cursor.fetchall():
        cursor.execute(f"SELECT last_value, is_called FROM {quote(schema)}.{quote(name)}")  # noqa: S608
        last_value, is_called = cursor.fetchone()
        positions[name] = [int(last_value), bool(is_called)]
    return positions


def _applied_migrations(cursor: Any, schema: str) -> list[list[str]]:
    table = f"{quote(schema)}.django_migrations"
    cursor.execute(f"SELECT app, name FROM {table} ORDER BY app, name")  # noqa: S608
    return [[app, name] for app, name in cursor.fetchall()]


def _sign(manifest: dict[str, Any]) -> str:
    unsigned = {key: value for key, value in manifest.items() if key != "signature"}
    canonical = json.dumps(unsigned, sort_keys=True, separators=(",", ":"))
    return salted_hmac(_SIGNATURE_SALT, canonical, algorithm="sha256").hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- backup -------------------------------------------------------------------------------


class _DigestingSink:
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


class _TableSpool:
    """What ``COPY ... TO STDOUT`` writes for one table: counted and hashed as plaintext,
    stored sealed under a key that lives only in this process (a crash leaves noise)."""

    def __init__(self, path: Path, key: backup_crypto.BackupKey) -> None:
        self.path = path
        self._file = path.open("wb")
        os.chmod(path, 0o600)
        self._writer = backup_crypto.SealingWriter(self._file, key)
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.rows = 0

    def write(self, data: bytes) -> int:
        self._writer.write(data)
        self.sha256.update(data)
        self.size += len(data)
        self.rows += data.count(b"\n")
        return len(data)

    def close(self) -> None:
        self._writer.close()
        self._file.close()


def clinic_backup_create(*, clinic: Clinic, actor: Any = None) -> ClinicBackup:
    """Export ``clinic``'s schema into a new sealed backup file and record it.

    The export reads one consistent snapshot (REPEATABLE READ when not already inside a
    transaction); writes to the clinic carry on meanwhile."""
    if clinic.is_public:
        raise backup_error(PlatformError.NOT_FOUND, _("No clinic has this subdomain."), "subdomain")
    key = backup_keys().primary
    backup_id = uuid.uuid4()
    directory = backup_dir() / clinic.subdomain
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    final_path = directory / f"{timezone_now():%Y%m%dT%H%M%SZ}-{backup_id}.tar.gz.enc"
    # Inside a caller's transaction (tests, nested services) the snapshot is already taken.
    own_transaction = not connection.in_atomic_block
    with tempfile.TemporaryDirectory(dir=directory) as workdir, transaction.atomic():
        with connection.cursor() as cursor:
            if own_transaction:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            # Copying a large table may take longer than any request statement may.
            cursor.execute("SET LOCAL statement_timeout = 0")
        spool_key = backup_crypto.BackupKey("spool", os.urandom(backup_crypto.KEY_SIZE))
        manifest, files = _export(clinic, backup_id, Path(workdir), spool_key, key.key_id)
        partial = Path(workdir) / "backup.tar.gz.enc"
        with partial.open("wb") as file:
            os.chmod(partial, 0o600)
            sink = _DigestingSink(file)
            _write_archive(sink, key, manifest, files, spool_key)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, final_path)
    try:
        with transaction.atomic():
            backup = ClinicBackup.objects.create(
                id=backup_id,
                clinic=clinic,
                subdomain=clinic.subdomain,
                schema_name=clinic.schema_name,
                file_name=str(final_path.relative_to(backup_dir())),
                size_bytes=sink.size,
                sha256=sink.sha256.hexdigest(),
                key_id=key.key_id,
                tables=len(manifest["tables"]),
                rows=sum(table["rows"] for table in manifest["tables"]),
                migrations_fingerprint=manifest["migrations_fingerprint"],
                created_by=getattr(actor, "email", "") or "system",
            )
            audit_record(
                actor=actor,
                actor_email="" if actor else "system",
                action="clinic.backup",
                entity=clinic,
                changes={
                    "backup_id": str(backup_id),
                    "sha256": backup.sha256,
                    "key_id": key.key_id,
                },
            )
    except BaseException:
        final_path.unlink(missing_ok=True)
        raise
    return backup


def _export(
    clinic: Clinic,
    backup_id: uuid.UUID,
    workdir: Path,
    spool_key: backup_crypto.BackupKey,
    key_id: str,
) -> tuple[dict[str, Any], list[tuple[str, Path, int]]]:
    schema = clinic.schema_name
    files: list[tuple[str, Path, int]] = []
    tables_meta = []
    with connection.cursor() as cursor:
        for table in schema_tables(cursor, schema):
            spool = _TableSpool(workdir / f"{table.name}.tsv.enc", spool_key)
            columns = ", ".join(quote(column) for column in table.columns)
            try:
                cursor.copy_expert(
                    f"COPY {quote(schema)}.{quote(table.name)} ({columns}) TO STDOUT", spool
                )
            finally:
                spool.close()
            member = f"data/{table.name}.tsv"
            files.append((member, spool.path, spool.size))
            tables_meta.append(
                {
                    "name": table.name,
                    "columns": table.columns,
                    "rows": spool.rows,
                    "sha256": spool.sha256.hexdigest(),
                    "file": member,
                }
            )
        migrations = _applied_migrations(cursor, schema)
        sequences = _sequences(cursor, schema)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "backup_id": str(backup_id),
        "created_at": timezone_now().isoformat(),
        "subdomain": clinic.subdomain,
        "clinic_id": clinic.pk,
        "schema_name": schema,
        "key_id": key_id,
        "clinic": {
            **{field: getattr(clinic, field) for field in CLINIC_FIELDS},
            "plan": clinic.plan.code,
        },
        "migrations": migrations,
        "migrations_fingerprint": fingerprint_of(tuple(pair) for pair in migrations),
        "tables": tables_meta,
        "sequences": sequences,
    }
    manifest["signature"] = _sign(manifest)
    return manifest, files


def _write_archive(
    sink: Any,
    key: backup_crypto.BackupKey,
    manifest: dict[str, Any],
    files: list[tuple[str, Path, int]],
    spool_key: backup_crypto.BackupKey,
) -> None:
    """tar (streamed) → gzip → sealed chunks → ``sink``; the manifest is the first member."""
    spool_keys = backup_crypto.KeyRing((spool_key,))
    with (
        backup_crypto.SealingWriter(sink, key) as sealed,
        gzip.GzipFile(fileobj=sealed, mode="wb", compresslevel=6, mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w|") as archive,
    ):
        body = json.dumps(manifest, indent=1, sort_keys=True).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mode = len(body), 0o600
        archive.addfile(info, io.BytesIO(body))
        for member, spool_path, size in files:
            info = tarfile.TarInfo(member)
            info.size, info.mode = size, 0o600
            with spool_path.open("rb") as spool:
                archive.addfile(info, backup_crypto.OpeningReader(spool, spool_keys))  # type: ignore[arg-type]


# --- reading and verification -------------------------------------------------------------


def _corrupted() -> ValidationError:
    return backup_error(
        PlatformError.BACKUP_CORRUPTED,
        _("The backup file is damaged: its content does not match its checksum."),
    )


def _foreign() -> ValidationError:
    return backup_error(
        PlatformError.BACKUP_FOREIGN,
        _("This backup was not made by this platform for this clinic; it is refused."),
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
        return backup_error(
            PlatformError.BACKUP_INCOMPATIBLE,
            _("The backup file comes from a newer version of the platform."),
        )
    return backup_error(
        PlatformError.BACKUP_CORRUPTED,
        _("The backup file is damaged or was altered: part of it does not authenticate."),
    )


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
        while self._compressed.read(_CHUNK):
            pass
        if self._sealed is not None:
            while self._sealed.read(_CHUNK):
                pass


@contextlib.contextmanager
def backup_open(path: Path) -> Iterator[OpenedBackup]:
    """Open a backup file for one streaming pass, whatever its size. Errors of the file
    (unknown or wrong key, failed authentication, broken gzip or tar) become coded
    ``ValidationError``s
    — also when they surface while the caller reads the members."""
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
        raise _corrupted() from None
    except backup_crypto.BackupCryptoError as error:
        logger.warning("backup %s cannot be opened: %s", path, error)
        raise _sealing_error(error) from None
    except _READ_ERRORS as error:
        logger.warning("unreadable backup %s: %s", path, error)
        raise _corrupted() from None


@dataclass
class _VerifiedBackup:
    manifest: dict[str, Any]
    archive_path: Path


def _check_manifest(manifest: Any, *, subdomain: str, key_id: str | None) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _foreign()
    signature = manifest.get("signature")
    if not isinstance(signature, str) or not hmac.compare_digest(signature, _sign(manifest)):
        raise _foreign()
    if manifest.get("subdomain") != subdomain:
        raise _foreign()
    # A sealed backup names its key in the signed manifest; a plain one is format 1.
    if manifest.get("key_id") != key_id or (key_id is None) != (
        manifest.get("format_version") == 1
    ):
        raise _corrupted()


def backup_verify_file(path: Path, *, subdomain: str, expected_sha256: str | None = None) -> Any:
    """Check a backup file completely, writing nothing, in one pass over the file. Raises
    ``ValidationError`` with ``BACKUP_NOT_FOUND``, ``BACKUP_CORRUPTED``, ``BACKUP_KEY_UNKNOWN``
    or ``BACKUP_FOREIGN``; returns the verified manifest holder."""
    if not path.is_file():
        raise backup_error(PlatformError.BACKUP_NOT_FOUND, _("The backup file is missing."))
    if expected_sha256 is not None and not hmac.compare_digest(_sha256_file(path), expected_sha256):
        raise _corrupted()
    manifest: Any = None
    with backup_open(path) as opened:
        expected: dict[str, dict[str, Any]] = {}
        seen: set[str] = set()
        for member in opened.archive:
            if manifest is None:
                if member.name != MANIFEST or not member.isfile():
                    raise _foreign()
                manifest = json.loads(opened.archive.extractfile(member).read())  # type: ignore[union-attr]
                _check_manifest(manifest, subdomain=subdomain, key_id=opened.key_id)
                expected = {table["file"]: table for table in manifest["tables"]}
                continue
            table = expected.get(member.name)
            if table is None or member.name in seen or not member.isfile():
                raise _corrupted()
            seen.add(member.name)
            digest = hashlib.sha256()
            source: IO[bytes] = opened.archive.extractfile(member)  # type: ignore[assignment]
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
            if digest.hexdigest() != table["sha256"]:
                raise _corrupted()
        if manifest is None:
            raise _foreign()
        if seen != set(expected):
            raise _corrupted()
        opened.finish()
    return _VerifiedBackup(manifest=manifest, archive_path=path)


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


def backup_get(*, subdomain: str, backup_id: str) -> tuple[ClinicBackup, Path]:
    """The recorded backup ``backup_id`` of the clinic at ``subdomain``; a backup of another
    clinic is answered as not found."""
    try:
        backup = ClinicBackup.objects.get(id=uuid.UUID(str(backup_id)))
    except (ValueError, ClinicBackup.DoesNotExist):
        backup = None
    if backup is None or backup.subdomain != (subdomain or "").strip().lower():
        raise backup_error(PlatformError.BACKUP_NOT_FOUND, _("This clinic has no such backup."))
    path = (backup_dir() / backup.file_name).resolve()
    if backup_dir().resolve() not in path.parents:
        raise backup_error(PlatformError.BACKUP_NOT_FOUND, _("This clinic has no such backup."))
    return backup, path


def backup_list(*, subdomain: str) -> list[ClinicBackup]:
    return list(
        ClinicBackup.objects.filter(subdomain=(subdomain or "").strip().lower()).order_by(
            "-created_at"
        )
    )

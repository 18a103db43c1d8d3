"""Per-clinic backups ("respaldos"): a checksummed, signed logical export of one clinic's
schema, and its restore into a new clinic or over the same one.

A backup is a ``.tar.gz`` holding ``manifest.json`` and one ``data/<table>.tsv`` per table
(PostgreSQL ``COPY`` text format, read in one REPEATABLE READ snapshot). The manifest lists
the clinic's settings, its applied migrations, every table with its columns, row count and
SHA-256, and every sequence's position; it is signed with an HMAC of ``SECRET_KEY``. The file's
own SHA-256 is kept in ``ClinicBackup``.

``backup_verify_file`` checks a file completely before a restore (``tenants_core.restore``)
writes anything: the file's checksum (else ``BACKUP_CORRUPTED``), the signature and that the
backup belongs to the clinic named (``BACKUP_FOREIGN``), and each table's checksum.
"""

from __future__ import annotations

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
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.crypto import salted_hmac
from django.utils.timezone import now as timezone_now
from django.utils.translation import gettext as _

from backend.audit.services import audit_record
from tenants_core.errors import PlatformError
from tenants_core.models import Clinic, ClinicBackup
from tenants_core.schema_template import fingerprint_of

logger = logging.getLogger(__name__)

FORMAT = "dental-saas/clinic-backup"
FORMAT_VERSION = 1
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


def clinic_backup_create(*, clinic: Clinic, actor: Any = None) -> ClinicBackup:
    """Export ``clinic``'s schema into a new backup file and record it.

    The export reads one consistent snapshot (REPEATABLE READ when not already inside a
    transaction); writes to the clinic carry on meanwhile."""
    if clinic.is_public:
        raise backup_error(PlatformError.NOT_FOUND, _("No clinic has this subdomain."), "subdomain")
    backup_id = uuid.uuid4()
    directory = backup_dir() / clinic.subdomain
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    final_path = directory / f"{timezone_now():%Y%m%dT%H%M%SZ}-{backup_id}.tar.gz"
    # Inside a caller's transaction (tests, nested services) the snapshot is already taken.
    own_transaction = not connection.in_atomic_block
    with tempfile.TemporaryDirectory(dir=directory) as workdir, transaction.atomic():
        with connection.cursor() as cursor:
            if own_transaction:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            # Copying a large table may take longer than any request statement may.
            cursor.execute("SET LOCAL statement_timeout = 0")
        manifest, files = _export(clinic, backup_id, Path(workdir))
        partial = Path(workdir) / "backup.tar.gz"
        _write_archive(partial, manifest, files)
        os.chmod(partial, 0o600)
        os.replace(partial, final_path)
    try:
        with transaction.atomic():
            backup = ClinicBackup.objects.create(
                id=backup_id,
                clinic=clinic,
                subdomain=clinic.subdomain,
                schema_name=clinic.schema_name,
                file_name=str(final_path.relative_to(backup_dir())),
                size_bytes=final_path.stat().st_size,
                sha256=_sha256_file(final_path),
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
                changes={"backup_id": str(backup_id), "sha256": backup.sha256},
            )
    except BaseException:
        final_path.unlink(missing_ok=True)
        raise
    return backup


def _export(clinic: Clinic, backup_id: uuid.UUID, workdir: Path) -> tuple[dict[str, Any], list]:
    schema = clinic.schema_name
    files: list[tuple[str, Path]] = []
    tables_meta = []
    with connection.cursor() as cursor:
        for table in schema_tables(cursor, schema):
            path = workdir / f"{table.name}.tsv"
            columns = ", ".join(quote(column) for column in table.columns)
            with path.open("wb") as file:
                cursor.copy_expert(
                    f"COPY {quote(schema)}.{quote(table.name)} ({columns}) TO STDOUT", file
                )
            digest, rows = hashlib.sha256(), 0
            with path.open("rb") as file:
                while chunk := file.read(_CHUNK):
                    digest.update(chunk)
                    rows += chunk.count(b"\n")
            member = f"data/{table.name}.tsv"
            files.append((member, path))
            tables_meta.append(
                {
                    "name": table.name,
                    "columns": table.columns,
                    "rows": rows,
                    "sha256": digest.hexdigest(),
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


def _write_archive(path: Path, manifest: dict[str, Any], files: list[tuple[str, Path]]) -> None:
    with tarfile.open(path, "w:gz", compresslevel=6) as archive:
        body = json.dumps(manifest, indent=1, sort_keys=True).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mode = len(body), 0o600
        archive.addfile(info, io.BytesIO(body))
        for member, file_path in files:
            info = tarfile.TarInfo(member)
            info.size, info.mode = file_path.stat().st_size, 0o600
            with file_path.open("rb") as file:
                archive.addfile(info, file)


# --- verification -------------------------------------------------------------------------


@dataclass
class _VerifiedBackup:
    manifest: dict[str, Any]
    archive_path: Path


def backup_verify_file(path: Path, *, subdomain: str, expected_sha256: str | None = None) -> Any:
    """Check a backup file completely, writing nothing. Raises ``ValidationError`` with
    ``BACKUP_CORRUPTED`` or ``BACKUP_FOREIGN``; returns the verified manifest holder."""
    corrupted = backup_error(
        PlatformError.BACKUP_CORRUPTED,
        _("The backup file is damaged: its content does not match its checksum."),
    )
    foreign = backup_error(
        PlatformError.BACKUP_FOREIGN,
        _("This backup was not made by this platform for this clinic; it is refused."),
    )
    if not path.is_file():
        raise backup_error(PlatformError.BACKUP_NOT_FOUND, _("The backup file is missing."))
    if expected_sha256 is not None and not hmac.compare_digest(_sha256_file(path), expected_sha256):
        raise corrupted
    try:
        # The whole gzip stream, to its CRC: reading the archive stops at its last member.
        with gzip.open(path, "rb") as stream:
            while stream.read(_CHUNK):
                pass
        with tarfile.open(path, "r:gz") as archive:
            members = {member.name: member for member in archive.getmembers()}
            if MANIFEST not in members or not members[MANIFEST].isfile():
                raise foreign
            manifest = json.loads(archive.extractfile(members[MANIFEST]).read())  # type: ignore[union-attr]
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise foreign
            signature = manifest.get("signature")
            if not isinstance(signature, str) or not hmac.compare_digest(
                signature, _sign(manifest)
            ):
                raise foreign
            if manifest.get("subdomain") != subdomain:
                raise foreign
            expected = {table["file"]: table for table in manifest["tables"]}
            if set(members) != {MANIFEST, *expected}:
                raise corrupted
            for name, table in expected.items():
                member = members[name]
                if not member.isfile():
                    raise corrupted
                digest = hashlib.sha256()
                source: IO[bytes] = archive.extractfile(member)  # type: ignore[assignment]
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                if digest.hexdigest() != table["sha256"]:
                    raise corrupted
    except ValidationError:
        raise
    except (
        tarfile.TarError,
        zlib.error,
        OSError,
        EOFError,
        ValueError,
        KeyError,
        TypeError,
    ) as error:
        logger.warning("unreadable backup %s: %s", path, error)
        raise corrupted from None
    return _VerifiedBackup(manifest=manifest, archive_path=path)


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

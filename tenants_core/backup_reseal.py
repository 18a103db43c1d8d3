"""Re-sealing backups under the primary key of ``BACKUP_ENCRYPTION_KEYS``: plain ones made
before encryption (health data in plaintext on disk), and those sealed with a key being
retired (perhaps leaked). ``manage.py backup_clinic --reseal`` runs it and ``check_tenants``
warns about the backups that need it.

Each backup is verified as a restore would verify it while it is copied into a new file; the
new file is made durable and recorded before the old one is deleted, so a failure at any
point leaves the backup as it was.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from tenants_core import backup_crypto, clinic_hooks
from tenants_core.backup_archive import (
    DigestingSink,
    VerifyingReader,
    backup_error,
    backup_keys,
    backup_open,
    corrupted,
    foreign,
    fsync_directory,
    sealed_manifest,
    sha256_file,
    write_archive,
)
from tenants_core.backups import backup_dir, backup_get
from tenants_core.errors import PlatformError
from tenants_core.models import ClinicBackup

logger = logging.getLogger(__name__)


@dataclass
class ResealOutcome:
    backup: ClinicBackup
    from_key_id: str  # "" for a plain backup made before encryption
    resealed: bool  # False: it was already sealed with the primary key
    old_file_left: Path | None = None  # the replaced file, when it could not be deleted


def backups_to_reseal(*, subdomain: str | None = None) -> list[ClinicBackup]:
    """Recorded backups not sealed with the primary key (plain ones included), oldest first."""
    rows = ClinicBackup.objects.exclude(key_id=backup_keys().primary.key_id)
    if subdomain is not None:
        rows = rows.filter(subdomain=(subdomain or "").strip().lower())
    return list(rows.order_by("created_at", "id"))


def backup_reseal(*, backup: ClinicBackup, actor: Any = None) -> ResealOutcome:
    """Seal ``backup`` again under the primary key of ``BACKUP_ENCRYPTION_KEYS``, after
    verifying it as a restore would (its recorded checksum, its key, every chunk, its
    signature or key id, every table), and record the new file's SHA-256, size and key id.

    The new file is written beside the old one under another name, made durable, and
    recorded; only then is the old one deleted. A failure at any point before that leaves
    the backup as it was, old file and record; a reseal that loses a race with another one
    of the same backup discards its own file. A backup already sealed with the primary key
    is left alone, unread, so running it again is harmless."""
    key = backup_keys().primary
    backup, old_path = backup_get(subdomain=backup.subdomain, backup_id=str(backup.id))
    if backup.key_id == key.key_id:
        return ResealOutcome(backup, backup.key_id, resealed=False)
    if not old_path.is_file():
        raise backup_error(PlatformError.BACKUP_NOT_FOUND, _("The backup file is missing."))
    if not hmac.compare_digest(sha256_file(old_path), backup.sha256):
        raise corrupted()
    directory = old_path.parent
    stem = old_path.name.split(".", 1)[0]
    new_path = directory / f"{stem}.{key.key_id}.{secrets.token_hex(4)}.tar.gz.enc"
    descriptor, partial_name = tempfile.mkstemp(dir=directory, prefix=".reseal-")  # 0600
    partial: Path | None = Path(partial_name)
    renamed = False
    try:
        with os.fdopen(descriptor, "wb") as file:
            sink = DigestingSink(file)
            _reseal_into(sink, key, old_path, backup)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial_name, new_path)
        partial, renamed = None, True
        fsync_directory(directory)
        outcome = _record_reseal(backup, key.key_id, new_path, sink, actor)
    except BaseException:
        if partial is not None:
            partial.unlink(missing_ok=True)
        if renamed:
            new_path.unlink(missing_ok=True)
        raise
    if not outcome.resealed:
        new_path.unlink(missing_ok=True)
        return outcome

    def remove_old_file() -> None:
        try:
            old_path.unlink()
        except FileNotFoundError:
            pass
        except OSError as error:
            outcome.old_file_left = old_path
            logger.error("backup %s resealed; old file %s stays: %s", backup.id, old_path, error)

    # Once the new record is committed (the caller's transaction, if any, included).
    transaction.on_commit(remove_old_file)
    return outcome


def _reseal_into(
    sink: DigestingSink, key: backup_crypto.BackupKey, old_path: Path, backup: ClinicBackup
) -> None:
    """One pass over the old file: verified as it is copied into the new one."""
    with backup_open(old_path) as opened:
        reading = VerifyingReader(opened, subdomain=backup.subdomain)
        if reading.manifest.get("backup_id") != str(backup.id):
            raise foreign()
        members = ((entry["file"], member.size, data) for entry, member, data in reading.members())
        write_archive(sink, key, sealed_manifest(reading.manifest, key.key_id), members)
        reading.finish()


def _record_reseal(
    backup: ClinicBackup, key_id: str, new_path: Path, sink: DigestingSink, actor: Any
) -> ResealOutcome:
    with transaction.atomic():
        current = ClinicBackup.objects.select_for_update().filter(pk=backup.pk).first()
        if current is None or (current.sha256, current.file_name) != (
            backup.sha256,
            backup.file_name,
        ):
            # Deleted, or resealed by another run, since we read it: ours is not needed.
            return ResealOutcome(current or backup, backup.key_id, resealed=False)
        before = {"key_id": current.key_id, "sha256": current.sha256}
        current.file_name = str(new_path.relative_to(backup_dir().resolve()))
        current.sha256 = sink.sha256.hexdigest()
        current.size_bytes = sink.size
        current.key_id = key_id
        current.save(update_fields=["file_name", "sha256", "size_bytes", "key_id"])
        clinic_hooks.event_record(
            actor=actor,
            actor_email="" if actor else "system",
            action="clinic.backup_reseal",
            entity=current,
            changes={
                "key_id": {"from": before["key_id"], "to": key_id},
                "sha256": {"from": before["sha256"], "to": current.sha256},
            },
        )
    return ResealOutcome(current, before["key_id"], resealed=True)


@dataclass
class BackupKeyReport:
    """What ``check_tenants`` warns about: backups that ``backup_clinic --reseal`` would
    re-seal."""

    primary_key_id: str
    plaintext: list[ClinicBackup]  # made before encryption: health data in plaintext
    other_key: list[ClinicBackup]  # sealed with a key that is no longer the primary

    @property
    def clean(self) -> bool:
        return not (self.plaintext or self.other_key)


def backup_key_report() -> BackupKeyReport:
    pending = backups_to_reseal()
    return BackupKeyReport(
        primary_key_id=backup_keys().primary.key_id,
        plaintext=[backup for backup in pending if not backup.key_id],
        other_key=[backup for backup in pending if backup.key_id],
    )

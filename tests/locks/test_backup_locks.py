"""The backup record's lock under a real race: two reseals of one backup.

``backup_reseal``'s contract (README: the reseal never loses a backup midway): a backup is sealed again with the
primary key once; "a reseal that loses a race with another one of the same backup discards
its own file"; the record points at the file that was kept, and the replaced file is
deleted.
"""

from __future__ import annotations

from django.db import connection
from django.test import override_settings

from backend.audit.models import AuditEvent
from tenants_core import backup_crypto, backup_reseal, backups
from tenants_core.models import ClinicBackup
from tests.locks.support import race

KEY_A = backup_crypto.generate_key("cerrojo-a")
KEY_B = backup_crypto.generate_key("cerrojo-b")


def reseal(backup: ClinicBackup):
    """A reseal run on another thread, with its own connection (closed at the end)."""

    def run() -> backup_reseal.ResealOutcome:
        try:
            return backup_reseal.backup_reseal(backup=backup)
        finally:
            connection.close()

    return run


def test_two_reseals_of_one_backup_at_once_keep_one_file(committed):
    """Two operators reseal the same backup under the new key at once: one reseal is
    recorded, the other discards its file. One audit event, and the backup's directory
    holds the kept file only (the old one deleted, the loser's discarded).

    Checked: without ``select_for_update()`` in ``_record_reseal`` the second run compares
    the record with what it read before the first committed, finds it unchanged and
    overwrites it: two reseals recorded, two audit events, and the first run's file is
    left on disk, pointed at by nothing.
    """
    place = committed
    with override_settings(BACKUP_ENCRYPTION_KEYS=KEY_A):
        backup = backups.clinic_backup_create(clinic=place.clinic)
    directory = (backups.backup_dir() / backup.file_name).parent

    with override_settings(BACKUP_ENCRYPTION_KEYS=f"{KEY_B},{KEY_A}"):
        result = race("public", "clinic.backup_reseal", reseal(backup), reseal(backup))

    connection.set_schema_to_public()
    assert result.first.resealed
    assert not result.second.resealed
    kept = ClinicBackup.objects.get(pk=backup.pk)
    assert kept.key_id == "cerrojo-b"
    assert kept.file_name == result.first.backup.file_name
    assert sorted(p.name for p in directory.iterdir()) == [kept.file_name.rsplit("/", 1)[-1]]
    events = AuditEvent.objects.filter(action="clinic.backup_reseal", entity_id=str(backup.pk))
    assert events.count() == 1

"""Rotating SECRET_KEY keeps every backup restorable: sealed backups depend on
BACKUP_ENCRYPTION_KEYS alone, and those made before encryption (signed with SECRET_KEY)
verify against SECRET_KEY_FALLBACKS."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from tenants_core import backups, restore
from tests.tenants_core.backup_support import (
    as_made_before_encryption,
    refused,
    table_digests,
)

pytestmark = pytest.mark.django_db

NEW_SECRET_KEY = "rotated-" + "k" * 30 + "0123456789abcdef"


def test_a_sealed_backup_restores_after_secret_key_rotation_with_or_without_fallback(clinic2):
    backup = backups.clinic_backup_create(clinic=clinic2)
    before = settings.SECRET_KEY
    path = backups.backup_dir() / backup.file_name
    cases = [
        ("with the former key in SECRET_KEY_FALLBACKS", [before], "rotada-con"),
        ("with no fallback at all", [], "rotada-sin"),
    ]
    for case, fallbacks, target in cases:
        with override_settings(SECRET_KEY=NEW_SECRET_KEY, SECRET_KEY_FALLBACKS=fallbacks):
            restored = restore.clinic_restore(
                subdomain="clinica2", backup_id=str(backup.id), target_subdomain=target
            )
            from_file = restore.clinic_restore(
                subdomain="clinica2", file=path, target_subdomain=f"{target}-archivo"
            )
        for clinic in (restored, from_file):
            assert table_digests(clinic.schema_name) == table_digests(clinic2.schema_name), case


def test_a_backup_from_before_encryption_restores_with_the_former_key_as_fallback(clinic2):
    backup = backups.clinic_backup_create(clinic=clinic2)
    as_made_before_encryption(backup)  # signed with the SECRET_KEY of its day
    former = settings.SECRET_KEY

    with override_settings(SECRET_KEY=NEW_SECRET_KEY, SECRET_KEY_FALLBACKS=["older", former]):
        restored = restore.clinic_restore(
            subdomain="clinica2", backup_id=str(backup.id), target_subdomain="antigua"
        )
    assert table_digests(restored.schema_name) == table_digests(clinic2.schema_name)

    # Without the former key, it is refused, and the refusal says what to do.
    with override_settings(SECRET_KEY=NEW_SECRET_KEY, SECRET_KEY_FALLBACKS=[]):
        refusal = refused(
            "BACKUP_FOREIGN",
            subdomain="clinica2",
            backup_id=str(backup.id),
            target_subdomain="antigua-2",
        )
    assert "SECRET_KEY_FALLBACKS" in refusal.messages[0]

"""``manage.py restore_database <file> --target-url <postgres url>`` and
``manage.py restore_database <file> --check``"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants_core import database_restore
from tenants_core.database_backup import DatabaseBackupError


class Command(BaseCommand):
    help = (
        "Restore a whole-database backup (a file made by backup_database, or downloaded from "
        "its bucket) into a new, EMPTY database: create it first, owned by the role the "
        "platform connects as. With --check, only verify the file against "
        "BACKUP_ENCRYPTION_KEYS."
    )
    # No check may touch the configured database: it may be the one being restored.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--target-url", default=None, help="postgres://user:pass@host/name")
        parser.add_argument(
            "--check", action="store_true", help="Verify the file; restore nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["check"] == bool(options["target_url"]):
            raise CommandError("Give either --target-url or --check.")
        try:
            if options["check"]:
                checked = database_restore.database_backup_check(options["file"])
            else:
                outcome = database_restore.database_restore(
                    path=options["file"], target_url=options["target_url"]
                )
                checked = outcome.checked
        except DatabaseBackupError as error:
            if options["check"]:
                raise CommandError(str(error)) from None
            lead = "Nothing was restored" if error.wrote_nothing else "The restore failed partway"
            raise CommandError(f"{lead}: {error}") from None
        summary = (
            f"key {checked.key_id}, {checked.sealed_bytes} bytes sealed, "
            f"{checked.archive_bytes} bytes of pg_dump archive"
        )
        if options["check"]:
            self.stdout.write(self.style.SUCCESS(f"The backup opens and is whole ({summary})."))
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored into {outcome.database}: {outcome.clinics} clinics ({summary}). "
                "Point DATABASE_URL at it and run migrate_schemas before starting the platform."
            )
        )

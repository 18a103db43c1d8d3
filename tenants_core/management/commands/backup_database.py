"""``manage.py backup_database [--list]``"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants_core import database_backup
from tenants_core.models import DatabaseBackup


class Command(BaseCommand):
    help = (
        "Dump the whole database (the platform's tables, every clinic, the job queue) into an "
        "encrypted file under BACKUP_DIR/database/, copy it to DATABASE_BACKUP_S3_BUCKET when "
        "set, and keep the newest DATABASE_BACKUP_KEEP. Exits non-zero when the dump, a copy "
        "off the machine or a deletion failed. --list shows the recorded backups."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--list", action="store_true", help="List backups; make none.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for backup in database_backup.database_backup_list():
                self.stdout.write(self._line(backup))
            return
        try:
            run = database_backup.database_backup_run()
        except database_backup.DatabaseBackupError as error:
            raise CommandError(f"No database backup was made: {error}") from None
        self.stdout.write(self._line(run.backup))
        for backup in run.copied:
            self.stdout.write(f"copied {backup.id} to {backup.offsite_url}")
        for deleted in [*run.deleted_files, *run.deleted_objects]:
            self.stdout.write(f"deleted (retention) {deleted}")
        if run.problems:
            for problem in run.problems:
                self.stderr.write(problem)
            raise CommandError(
                f"The backup {run.backup.id} was made, with {len(run.problems)} problems above."
            )
        self.stdout.write(self.style.SUCCESS(f"Database backup {run.backup.id} made."))

    def _line(self, backup: DatabaseBackup) -> str:
        if backup.status != "done":
            when = f"{backup.created_at:%Y-%m-%d %H:%M:%S}Z"
            return f"{backup.id}  {when}  {backup.status}: {backup.error}"
        where = {
            "copied": backup.offsite_url,
            "failed": f"copy failed: {backup.offsite_error}",
            "pending": "copy pending",
            "deleted": f"copy deleted ({backup.offsite_url})",
        }.get(backup.offsite_status, "not copied off the machine")
        local = (
            "file deleted (retention)"
            if backup.local_deleted_at
            else str(database_backup.backup_path(backup))
        )
        return (
            f"{backup.id}  {backup.created_at:%Y-%m-%d %H:%M:%S}Z  {backup.size_bytes} bytes  "
            f"sha256 {backup.sha256}  key {backup.key_id}  PostgreSQL {backup.server_version}  "
            f"{local}  {where}"
        )

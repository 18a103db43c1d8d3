"""``manage.py backup_clinic <subdomain> [--list]``"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants_core import backups, selectors
from tenants_core.management.commands.create_clinic import format_validation_error


class Command(BaseCommand):
    help = (
        "Back up one clinic's schema into a compressed, encrypted file under BACKUP_DIR, "
        "or list the clinic's backups with --list."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("subdomain")
        parser.add_argument("--list", action="store_true", help="List backups; make none.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["list"]:
                rows = backups.backup_list(subdomain=options["subdomain"])
            else:
                clinic = selectors.clinic_get(subdomain=options["subdomain"])
                rows = [backups.clinic_backup_create(clinic=clinic)]
        except ValidationError as error:
            raise CommandError(format_validation_error(error)) from None
        for backup in rows:
            self.stdout.write(
                f"{backup.id}  {backup.created_at:%Y-%m-%d %H:%M:%S}Z  "
                f"{backup.size_bytes} bytes  sha256 {backup.sha256}  "
                f"key {backup.key_id or '(none: unencrypted)'}  "
                f"{backup.tables} tables, {backup.rows} rows  "
                f"{backups.backup_dir() / backup.file_name}"
            )

"""``manage.py restore_clinic <subdomain> <backup-id|--file path> <target-subdomain>``"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants_core import restore
from tenants_core.management.commands.create_clinic import format_validation_error


class Command(BaseCommand):
    help = (
        "Restore a backup of <subdomain> into a new clinic at <target-subdomain>, or over the "
        "same clinic with --confirm-overwrite. The backup is a recorded backup id, or a file "
        "given with --file (it must be signed by this platform)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("subdomain")
        parser.add_argument("backup_id", nargs="?", default=None)
        parser.add_argument("target_subdomain")
        parser.add_argument("--file", type=Path, default=None)
        parser.add_argument("--confirm-overwrite", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if (options["backup_id"] is None) == (options["file"] is None):
            raise CommandError("Give either a backup id or --file.")
        try:
            clinic = restore.clinic_restore(
                subdomain=options["subdomain"],
                backup_id=options["backup_id"],
                file=options["file"],
                target_subdomain=options["target_subdomain"],
                confirm_overwrite=options["confirm_overwrite"],
            )
        except ValidationError as error:
            raise CommandError("Nothing was restored:\n" + format_validation_error(error)) from None
        self.stdout.write(
            self.style.SUCCESS(f"Restored into {clinic.subdomain} (schema {clinic.schema_name}).")
        )

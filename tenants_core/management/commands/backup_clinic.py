"""``manage.py backup_clinic <subdomain> [--list]`` and
``manage.py backup_clinic --reseal <subdomain>|--all``"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants_core import backup_reseal, backups, selectors
from tenants_core.management.commands.create_clinic import format_validation_error
from tenants_core.models import ClinicBackup


class Command(BaseCommand):
    help = (
        "Back up one clinic's schema into a compressed, encrypted file under BACKUP_DIR, "
        "list the clinic's backups with --list, or, with --reseal, seal the clinic's backups "
        "(or every clinic's, with --all) again under the first key of BACKUP_ENCRYPTION_KEYS: "
        "backups made before encryption and backups sealed with an older key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("subdomain", nargs="?", default=None)
        parser.add_argument("--list", action="store_true", help="List backups; make none.")
        parser.add_argument(
            "--reseal",
            action="store_true",
            help="Verify backups not sealed with the primary key and seal them with it.",
        )
        parser.add_argument("--all", action="store_true", help="With --reseal: every clinic.")

    def handle(self, *args: Any, **options: Any) -> None:
        subdomain = options["subdomain"]
        if options["reseal"]:
            if options["list"] or (subdomain is None) == (not options["all"]):
                raise CommandError("--reseal takes either a subdomain or --all.")
            self._reseal(None if options["all"] else subdomain)
            return
        if options["all"] or subdomain is None:
            raise CommandError("Give a subdomain (--all goes with --reseal only).")
        try:
            if options["list"]:
                rows = backups.backup_list(subdomain=subdomain)
            else:
                clinic = selectors.clinic_get(subdomain=subdomain)
                rows = [backups.clinic_backup_create(clinic=clinic)]
        except ValidationError as error:
            raise CommandError(format_validation_error(error)) from None
        for backup in rows:
            self.stdout.write(self._line(backup))

    def _line(self, backup: ClinicBackup) -> str:
        return (
            f"{backup.id}  {backup.created_at:%Y-%m-%d %H:%M:%S}Z  "
            f"{backup.size_bytes} bytes  sha256 {backup.sha256}  "
            f"key {backup.key_id or '(none: unencrypted)'}  "
            f"{backup.tables} tables, {backup.rows} rows  "
            f"{backups.backup_dir() / backup.file_name}"
        )

    def _reseal(self, subdomain: str | None) -> None:
        """Each backup on its own: one that fails is reported and left as it was, the others
        go on; the command fails at the end if any did."""
        pending = backup_reseal.backups_to_reseal(subdomain=subdomain)
        resealed, problems = 0, 0
        for backup in pending:
            try:
                outcome = backup_reseal.backup_reseal(backup=backup)
            except (ValidationError, OSError) as error:
                problems += 1
                why = (
                    format_validation_error(error)
                    if isinstance(error, ValidationError)
                    else f"{type(error).__name__}: {error}"
                )
                self.stderr.write(f"{backup.id} ({backup.subdomain}) not resealed, left as it was:")
                self.stderr.write(why)
                continue
            if not outcome.resealed:
                continue  # sealed with the primary key meanwhile
            resealed += 1
            self.stdout.write(
                f"resealed (was key {outcome.from_key_id or '(none: unencrypted)'}): "
                + self._line(outcome.backup)
            )
            if outcome.old_file_left is not None:
                problems += 1
                self.stderr.write(
                    f"{backup.id}: resealed, but the old file {outcome.old_file_left} could "
                    "not be deleted: delete it by hand."
                )
        summary = f"{resealed} of {len(pending)} backups needing it resealed."
        if problems:
            raise CommandError(f"{summary} {problems} problems, above.")
        self.stdout.write(self.style.SUCCESS(summary))

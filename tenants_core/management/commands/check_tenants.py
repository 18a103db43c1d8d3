"""``manage.py check_tenants [--fix]``: report (and fix) orphan schemas and clinics without a
domain or a schema. Exits non-zero when something is wrong and not fixed. Also warns about
backups in plaintext or sealed with a key that is not the primary one (``backup_clinic
--reseal`` fixes those; the warnings alone do not fail the command)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants_core.backup_reseal import backup_key_report
from tenants_core.health import tenants_check, tenants_fix


class Command(BaseCommand):
    help = "Report orphan clinic schemas and clinics without a domain or schema; --fix repairs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--fix", action="store_true")

    def handle(self, *args: Any, fix: bool, **options: Any) -> None:
        self._warn_about_backups()
        report = tenants_check()
        for schema in report.orphan_schemas:
            self.stdout.write(f"orphan schema (no clinic): {schema}")
        for subdomain in report.clinics_without_domain:
            self.stdout.write(f"clinic without a domain: {subdomain}")
        for subdomain in report.clinics_without_schema:
            self.stdout.write(f"clinic without its schema (restore it from a backup): {subdomain}")
        if report.healthy:
            self.stdout.write(self.style.SUCCESS("All clinics are consistent."))
            return
        if not fix:
            raise CommandError("Inconsistencies found; run with --fix to repair what can be.")
        tenants_fix(report)
        self.stdout.write(self.style.SUCCESS("Fixed orphan schemas and missing domains."))
        if report.clinics_without_schema:
            raise CommandError("Some clinics have no schema: restore them from a backup.")

    def _warn_about_backups(self) -> None:
        keys = backup_key_report()
        for backup in keys.plaintext:
            self.stdout.write(
                self.style.WARNING(
                    f"warning: backup {backup.id} of {backup.subdomain} is not encrypted (made "
                    "before encryption): health data in plaintext on disk"
                )
            )
        for backup in keys.other_key:
            self.stdout.write(
                self.style.WARNING(
                    f"warning: backup {backup.id} of {backup.subdomain} is sealed with the key "
                    f"{backup.key_id}, not the primary key {keys.primary_key_id}"
                )
            )
        if not keys.clean:
            self.stdout.write(
                "Seal them with the primary key: manage.py backup_clinic --reseal --all"
            )

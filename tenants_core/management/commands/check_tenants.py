"""``manage.py check_tenants [--fix]``: report (and fix) orphan schemas and clinics without a
domain or a schema. Exits non-zero when something is wrong and not fixed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants_core.health import tenants_check, tenants_fix


class Command(BaseCommand):
    help = "Report orphan clinic schemas and clinics without a domain or schema; --fix repairs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--fix", action="store_true")

    def handle(self, *args: Any, fix: bool, **options: Any) -> None:
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

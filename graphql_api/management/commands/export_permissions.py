"""Write ``docs/permissions.md`` from the permission matrix (or check it is up to date)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from graphql_api.core.permission_docs import permissions_document
from graphql_api.schema import schema

DEFAULT_PATH = Path(settings.BASE_DIR) / "docs" / "permissions.md"


class Command(BaseCommand):
    help = "Export the permission matrix to docs/permissions.md."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--path", type=Path, default=DEFAULT_PATH)
        parser.add_argument("--check", action="store_true", help="Fail if the file is stale.")

    def handle(self, *args: Any, path: Path, check: bool, **options: Any) -> None:
        text = permissions_document(schema)
        if check:
            if not path.exists() or path.read_text() != text:
                raise CommandError(f"{path} is out of date: run `manage.py export_permissions`.")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.stdout.write(self.style.SUCCESS(f"Wrote {path}."))

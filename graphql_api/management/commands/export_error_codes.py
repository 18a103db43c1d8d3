"""Write the list of every error code into ``docs/clients.md``, between its
``<!-- error-codes:start -->`` and ``<!-- error-codes:end -->`` lines (or check it is up to
date). The rest of the file is left as it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from graphql_api.core.error_docs import error_codes_markdown, replace_block
from graphql_api.schema import schema

DEFAULT_PATH = Path(settings.BASE_DIR) / "docs" / "clients.md"


class Command(BaseCommand):
    help = "Export every error code a client can receive into docs/clients.md."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--path", type=Path, default=DEFAULT_PATH)
        parser.add_argument("--check", action="store_true", help="Fail if the list is stale.")

    def handle(self, *args: Any, path: Path, check: bool, **options: Any) -> None:
        current = path.read_text() if path.exists() else ""
        text = replace_block(current, error_codes_markdown(schema))
        if check:
            if current != text:
                raise CommandError(f"{path} is out of date: run `manage.py export_error_codes`.")
            self.stdout.write(f"{path} is up to date.")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.stdout.write(self.style.SUCCESS(f"Wrote {path}."))

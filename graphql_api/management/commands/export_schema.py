"""Write the printed SDL to ``schema.graphql`` (or check that it is up to date)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from strawberry.printer import print_schema

from graphql_api.schema import schema

DEFAULT_PATH = Path(settings.BASE_DIR) / "schema.graphql"


def printed_schema() -> str:
    return print_schema(schema).rstrip() + "\n"


class Command(BaseCommand):
    help = "Export the GraphQL schema (SDL) to schema.graphql."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--path", type=Path, default=DEFAULT_PATH)
        parser.add_argument(
            "--check", action="store_true", help="Fail if the file differs from the code."
        )

    def handle(self, *args: Any, path: Path, check: bool, **options: Any) -> None:
        sdl = printed_schema()
        if check:
            if not path.exists() or path.read_text() != sdl:
                raise CommandError(f"{path} is out of date: run `manage.py export_schema`.")
            self.stdout.write(f"{path} is up to date.")
            return
        path.write_text(sdl)
        self.stdout.write(self.style.SUCCESS(f"Wrote {path}."))

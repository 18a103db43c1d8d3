"""``manage.py serve``: serve the API with uvicorn, as production does (the Dockerfile's
command). Nothing is migrated or seeded; ``manage.py dev`` does that for development."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from backend.core.server_command import UvicornLaunch


class Command(BaseCommand):
    help = "Serve the API with uvicorn, trusting X-Forwarded-For only from TRUSTED_PROXIES."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY") or 1)
        )

    def handle(self, *args: Any, host: str, port: int, workers: int, **options: Any) -> None:
        UvicornLaunch(
            trusted_proxies=settings.TRUSTED_PROXIES, host=host, port=port, workers=workers
        ).serve()

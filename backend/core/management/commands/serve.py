"""``manage.py serve``: serve the API with uvicorn, as production does (the Dockerfile's
command). Nothing is migrated or seeded; ``manage.py dev`` does that for development.

Its flags default to the settings (``WEB_CONCURRENCY``, ``WEB_GRACEFUL_SHUTDOWN_SECONDS``,
``WEB_KEEP_ALIVE_SECONDS``, ``WEB_BACKLOG``); the requests each worker runs at once are
``WEB_CONCURRENCY_LIMIT``, a setting the app itself applies in every worker
(``backend/core/server_command.py``). At start it logs the connection budget that makes."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from backend.core.connection_budget import ConnectionBudget, connection_budget_report
from backend.core.server_command import UvicornLaunch


class Command(BaseCommand):
    help = "Serve the API with uvicorn, trusting X-Forwarded-For only from TRUSTED_PROXIES."

    def add_arguments(self, parser: CommandParser) -> None:
        limits = settings.SERVER_LIMITS
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY") or 1)
        )
        parser.add_argument(
            "--timeout-graceful-shutdown",
            type=int,
            default=limits.graceful_shutdown_seconds,
            help="On SIGTERM, seconds the requests in flight get to finish.",
        )
        parser.add_argument(
            "--timeout-keep-alive",
            type=int,
            default=limits.keep_alive_seconds,
            help="Seconds an idle keep-alive connection stays open.",
        )
        parser.add_argument(
            "--backlog", type=int, default=limits.backlog, help="The listen socket's backlog."
        )

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        workers: int,
        timeout_graceful_shutdown: int,
        timeout_keep_alive: int,
        backlog: int,
        **options: Any,
    ) -> None:
        limits = dataclasses.replace(
            settings.SERVER_LIMITS,
            graceful_shutdown_seconds=timeout_graceful_shutdown,
            keep_alive_seconds=timeout_keep_alive,
            backlog=backlog,
        )
        connection_budget_report(
            ConnectionBudget(
                workers=workers,
                per_worker=limits.requests,
                reserved=settings.DB_CONNECTIONS_RESERVED,
            )
        )
        UvicornLaunch(
            trusted_proxies=settings.TRUSTED_PROXIES,
            host=host,
            port=port,
            workers=workers,
            limits=limits,
        ).serve()

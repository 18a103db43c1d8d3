"""``manage.py worker``: run the jobs (procrastinate) of every clinic, until stopped.

    python manage.py worker                      # every queue, JOB_CONCURRENCY jobs at once
    python manage.py worker --queue messages -c 4
    python manage.py worker --burst              # run what is due, then exit

Several workers, on any number of machines that reach the database, share the queue.
SIGTERM/SIGINT stop it after the jobs in progress. See docs/jobs.md.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.jobs.worker import WorkerSettings, run_worker


class Command(BaseCommand):
    help = "Run a background-job worker (procrastinate) until stopped."
    # The checks would touch every app; a worker only needs its connection.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-q",
            "--queue",
            dest="queues",
            action="append",
            help="A queue to work on (repeatable). Default: every queue.",
        )
        parser.add_argument(
            "-c", "--concurrency", type=int, help="Jobs at once (default: JOB_CONCURRENCY)."
        )
        parser.add_argument(
            "--burst",
            "--until-idle",
            dest="burst",
            action="store_true",
            help="Run the jobs that are due, then exit.",
        )
        parser.add_argument(
            "--no-listen-notify",
            dest="listen_notify",
            action="store_false",
            default=None,
            help="Only poll (behind PgBouncer in transaction mode). Default: JOB_LISTEN_NOTIFY.",
        )
        parser.add_argument(
            "--shutdown-timeout",
            type=float,
            help="On SIGTERM, wait at most this many seconds for the jobs in progress.",
        )
        parser.add_argument("--name", help="The worker's name in the logs.")
        parser.add_argument(
            "--no-periodic",
            dest="periodic",
            action="store_false",
            help="Do not defer periodic jobs from this worker (others, or none, do it).",
        )
        parser.add_argument(
            "--stop-with-parent",
            action="store_true",
            help="Stop when the process that started this one is gone (manage.py dev).",
        )
        parser.add_argument(
            "--import",
            dest="imports",
            action="append",
            default=[],
            help="A module with more tasks to register (repeatable; also JOB_IMPORT_PATHS, "
            "comma-separated). The apps' tasks.py modules are always loaded.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        extra = [
            *options["imports"],
            *filter(None, (os.environ.get("JOB_IMPORT_PATHS") or "").split(",")),
        ]
        for module in extra:
            try:
                importlib.import_module(module.strip())
            except ImportError as error:
                raise CommandError(f"Cannot import {module}: {error}") from error
        if options["concurrency"] is not None and options["concurrency"] < 1:
            raise CommandError("--concurrency must be at least 1.")
        worker_settings = WorkerSettings.from_settings(
            queues=options["queues"],
            concurrency=options["concurrency"],
            burst=options["burst"],
            listen_notify=options["listen_notify"],
            shutdown_timeout=options["shutdown_timeout"],
            name=options["name"],
            periodic=options["periodic"],
            stop_with_parent=options["stop_with_parent"],
        )
        code = run_worker(worker_settings)
        if code:
            raise SystemExit(code)

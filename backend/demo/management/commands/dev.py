"""``manage.py dev``: migrate, seed the demo data, print the URLs and serve with uvicorn, with a
job worker (``manage.py worker``) beside it.

One process does it all, so the embedded PostgreSQL it started stays up while it serves; the
worker is its child, stopped with it (Ctrl-C stops both).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from backend.core.server_command import UvicornLaunch
from backend.db import database_url_for
from backend.demo.clinical import clinic_clinical_demo_seed
from backend.demo.clinics import DEMO_STAFF, demo_seed, platform_admin_ensure
from backend.demo.front_desk import clinic_demo_data_seed
from backend.metrics.rollup import demo_rollup


class Command(BaseCommand):
    help = "Set up the development database and serve the API with uvicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--no-serve", action="store_true", help="Set up, then exit.")
        parser.add_argument(
            "--no-worker", action="store_true", help="Serve without a background-job worker."
        )

    def handle(
        self, *args: Any, host: str, port: int, no_serve: bool, no_worker: bool, **options: Any
    ) -> None:
        if not (settings.PLATFORM_ADMIN_EMAIL and settings.PLATFORM_ADMIN_PASSWORD):
            raise CommandError(
                "Set PLATFORM_ADMIN_EMAIL and PLATFORM_ADMIN_PASSWORD (required when DEBUG is off)."
            )
        call_command("migrate_schemas", interactive=False, verbosity=0)
        password = settings.DEMO_PASSWORD
        clinics = demo_seed(password=password, base_domain=settings.BASE_DOMAIN)
        for clinic in clinics:
            # About 200 patients; a basic clinic gets what its plan allows, with room to spare.
            clinic_demo_data_seed(clinic, patients=min(200, clinic.max_patients - 5))
            clinic_clinical_demo_seed(clinic)
        platform_admin_ensure(
            email=settings.PLATFORM_ADMIN_EMAIL, password=settings.PLATFORM_ADMIN_PASSWORD
        )
        # The metrics rollup once, over the days the demo covers, so that platformMetrics and
        # clinicMetrics answer with the demo clinics' numbers (the worker then runs it hourly).
        rolled = demo_rollup()

        base = settings.BASE_DOMAIN
        lines = [
            "",
            self.style.SUCCESS("Dental SaaS is ready."),
            f"  platform   http://{base}:{port}/graphql",
            f"             operator {settings.PLATFORM_ADMIN_EMAIL}"
            f" / {settings.PLATFORM_ADMIN_PASSWORD}",
        ]
        for clinic in clinics:
            users = ", ".join(f"{local}@{clinic.subdomain}.{base}" for local, _, _ in DEMO_STAFF)
            lines += [
                f"  {clinic.subdomain:<10} http://{clinic.subdomain}.{base}:{port}/graphql"
                f"  ({clinic.name}, {clinic.plan.code} plan)",
                f"             {users} / {password}",
            ]
        lines += [
            f"  health     http://{base}:{port}/healthz",
            f"  metrics    rolled up {len(rolled)} day(s) (platformMetrics, clinicMetrics)",
            "",
            "  curl -s -H 'content-type: application/json' "
            f"""-d '{{"query":"{{ currentClinic {{ name }} }}"}}' """
            f"http://{clinics[0].subdomain}.{base}:{port}/graphql",
            "",
        ]
        if not no_worker:
            lines.insert(-1, "  jobs       a worker runs beside the server (manage.py worker)")
        self.stdout.write("\n".join(lines))
        if no_serve:
            return

        with contextlib.ExitStack() as stack:
            if not no_worker:
                stack.enter_context(_worker_beside())
            UvicornLaunch(
                trusted_proxies=settings.TRUSTED_PROXIES,
                host=host,
                port=port,
                limits=settings.SERVER_LIMITS,
            ).serve()


@contextlib.contextmanager
def _worker_beside() -> Iterator[subprocess.Popen[bytes]]:
    """``manage.py worker`` as a child process for as long as the block runs.

    It gets its own session, so that Ctrl-C reaches only this process, which then stops the
    worker once (SIGTERM: the job in progress finishes); ``--stop-with-parent`` stops it also
    if this process is killed."""
    manage = Path(settings.BASE_DIR) / "manage.py"
    # The database this process uses (the embedded server it started, or DATABASE_URL).
    env = {**os.environ, "DATABASE_URL": database_url_for(connection.settings_dict)}
    worker = subprocess.Popen(
        [sys.executable, str(manage), "worker", "--stop-with-parent"],
        env=env,
        start_new_session=True,
    )
    try:
        yield worker
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()

"""``manage.py dev``: migrate, seed the demo data, print the URLs and serve with uvicorn.

One process does it all, so the embedded PostgreSQL it started stays up while it serves.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.core.server_command import UvicornLaunch
from backend.demo.clinical import clinic_clinical_demo_seed
from backend.demo.clinics import DEMO_STAFF, demo_seed, platform_admin_ensure
from backend.demo.front_desk import clinic_demo_data_seed


class Command(BaseCommand):
    help = "Set up the development database and serve the API with uvicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--no-serve", action="store_true", help="Set up, then exit.")

    def handle(self, *args: Any, host: str, port: int, no_serve: bool, **options: Any) -> None:
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
            "",
            "  curl -s -H 'content-type: application/json' "
            f"""-d '{{"query":"{{ currentClinic {{ name }} }}"}}' """
            f"http://{clinics[0].subdomain}.{base}:{port}/graphql",
            "",
        ]
        self.stdout.write("\n".join(lines))
        if no_serve:
            return

        UvicornLaunch(trusted_proxies=settings.TRUSTED_PROXIES, host=host, port=port).serve()

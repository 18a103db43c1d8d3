"""``manage.py dev``: migrate, seed the demo clinics, print the URLs and serve with uvicorn.

One process does it all, so the embedded PostgreSQL it started stays up while it serves.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from tenants_core.demo import demo_seed


class Command(BaseCommand):
    help = "Set up the development database and serve the API with uvicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--no-serve", action="store_true", help="Set up, then exit.")

    def handle(self, *args: Any, host: str, port: int, no_serve: bool, **options: Any) -> None:
        call_command("migrate_schemas", interactive=False, verbosity=0)
        password = os.environ.get("DEMO_PASSWORD", "demo1234!")
        clinics = demo_seed(admin_password=password, base_domain=settings.BASE_DOMAIN)

        base = settings.BASE_DOMAIN
        lines = [
            "",
            self.style.SUCCESS("Dental SaaS is ready."),
            f"  platform:  http://{base}:{port}/graphql",
        ]
        for clinic in clinics:
            lines.append(
                f"  {clinic.subdomain}:  http://{clinic.subdomain}.{base}:{port}/graphql"
                f"   ({clinic.name}, {clinic.plan.code};"
                f" admin@{clinic.subdomain}.{base} / {password})"
            )
        lines += [
            f"  health:    http://{base}:{port}/healthz",
            "",
            "  curl -s -H 'content-type: application/json' "
            f"""-d '{{"query":"{{ currentClinic {{ name }} }}"}}' """
            f"http://{clinics[0].subdomain}.{base}:{port}/graphql",
            "",
        ]
        self.stdout.write("\n".join(lines))
        if no_serve:
            return

        import uvicorn

        uvicorn.run(
            "backend.asgi:application", host=host, port=port, log_level="info", lifespan="off"
        )

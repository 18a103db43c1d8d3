"""``manage.py create_operator <email> [--name NAME]``: the platform's first (or next)
operator, on a new deployment as on a running one (docs/deploy.md). The password is generated
and printed once, as ``create_clinic`` does for a clinic's admin: it never passes through the
command line, where shells and process lists would keep it."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.accounts.services import platform_operator_create
from tenants_core.management.commands.create_clinic import format_validation_error


class Command(BaseCommand):
    help = (
        "Create a platform operator (signs in on BASE_DOMAIN: the operators' GraphQL mutations "
        "and the console). Registers BASE_DOMAIN for the platform if it is missing. The password "
        "is generated and printed once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--name", default="Platform operator", help="The full name.")

    def handle(self, *args: Any, **options: Any) -> None:
        password = secrets.token_urlsafe(16)
        try:
            user = platform_operator_create(
                email=options["email"], full_name=options["name"], password=password
            )
        except ValidationError as error:
            raise CommandError(
                "The operator was not created:\n" + format_validation_error(error)
            ) from error
        self.stdout.write(
            self.style.SUCCESS(f"Created the operator {user.email}")
            + f"\n  platform: {settings.BASE_DOMAIN} (/graphql, and the console at /console/)"
            + f"\n  password: {password}  (shown once; change it in the console)"
        )

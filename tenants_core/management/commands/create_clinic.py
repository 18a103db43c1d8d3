"""``manage.py create_clinic <subdomain> <name> <ruc> <email> [plan]``

The plan by its code or by the original system's Spanish name (``basico``, ``profesional``,
``empresarial``): ``create_clinic clinica3 "DentPlus" 20111222330 admin@clinica3.com basico``.
"""

from __future__ import annotations

import argparse
import secrets
import time
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants_core.models import PlanCode
from tenants_core.plan_names import plan_code_from_name, plan_names_help
from tenants_core.services import clinic_provision


def format_validation_error(error: ValidationError) -> str:
    """One line per problem: ``field: message [CODE]``."""
    lines: list[str] = []
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            lines.extend(f"{field}: {e.messages[0]} [{e.code}]" for e in errors)
    else:
        lines.extend(f"{e.messages[0]} [{e.code}]" for e in error.error_list)
    return "\n".join(lines)


def plan_argument(value: str) -> str:
    """argparse's type for the plan: a code or its Spanish name (``basico``), as the code."""
    code = plan_code_from_name(value)
    if code is None:
        raise argparse.ArgumentTypeError(
            f"invalid plan: {value!r} (choose from {plan_names_help()})"
        )
    return code.value


class Command(BaseCommand):
    help = (
        "Create a clinic: its schema, its domain <subdomain>.<BASE_DOMAIN> and its first admin "
        "user. Without --admin-password a random password is generated and printed once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("subdomain")
        parser.add_argument("name")
        parser.add_argument("ruc", help="The clinic's RUC (11 digits).")
        parser.add_argument("email", help="The clinic's email; also its first admin's login.")
        parser.add_argument(
            "plan",
            nargs="?",
            default=PlanCode.BASIC.value,
            type=plan_argument,
            help=f"The plan, by its code or Spanish name: {plan_names_help()}. Default: basic.",
        )
        parser.add_argument("--admin-email", default=None)
        parser.add_argument("--admin-password", default=None)
        parser.add_argument("--timezone", default=settings.DEFAULT_CLINIC_TIMEZONE)

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["admin_password"] or secrets.token_urlsafe(12)
        started = time.perf_counter()
        try:
            clinic = clinic_provision(
                subdomain=options["subdomain"],
                name=options["name"],
                legal_id=options["ruc"],
                email=options["email"],
                plan=options["plan"],
                admin_email=options["admin_email"],
                admin_password=password,
                timezone=options["timezone"],
            )
        except ValidationError as error:
            raise CommandError(
                "The clinic was not created:\n" + format_validation_error(error)
            ) from error
        elapsed = time.perf_counter() - started
        admin_email = options["admin_email"] or clinic.email
        self.stdout.write(
            self.style.SUCCESS(f"Created {clinic.name} in {elapsed:.2f} s")
            + f"\n  schema:  {clinic.schema_name}"
            + f"\n  plan:    {clinic.plan.code}"
            + f"\n  GraphQL: http://{clinic.subdomain}.{settings.BASE_DOMAIN}:{settings.PORT}/graphql"
            + f"\n  admin:   {admin_email}"
            + ("" if options["admin_password"] else f"\n  password: {password}  (shown once)")
        )

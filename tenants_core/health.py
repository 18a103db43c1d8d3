"""Consistency between clinics, domains and schemas: what ``check_tenants`` reports and fixes."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import schema_exists

from tenants_core.models import Clinic, Domain
from tenants_core.schema_names import SCHEMA_PREFIX, clinic_domain_for


@dataclass
class TenantReport:
    orphan_schemas: list[str] = field(default_factory=list)  # clinic-like schema, no Clinic row
    clinics_without_schema: list[str] = field(default_factory=list)
    clinics_without_domain: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not (
            self.orphan_schemas or self.clinics_without_schema or self.clinics_without_domain
        )


def tenants_check() -> TenantReport:
    report = TenantReport()
    with connection.cursor() as cursor:
        # Only clinic-named schemas can be orphans; public, extensions and the template
        # (_clinic_template) are named outside the prefix on purpose.
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s ORDER BY nspname",
            [SCHEMA_PREFIX.replace("_", r"\_") + "%"],
        )
        schemas = {row[0] for row in cursor.fetchall()}
    clinics = list(Clinic.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME))
    known = {clinic.schema_name for clinic in clinics}
    report.orphan_schemas = sorted(schemas - known)
    with_domain = set(Domain.objects.values_list("tenant_id", flat=True))
    for clinic in clinics:
        if not schema_exists(clinic.schema_name):
            report.clinics_without_schema.append(clinic.subdomain)
        if clinic.pk not in with_domain:
            report.clinics_without_domain.append(clinic.subdomain)
    return report


@transaction.atomic
def tenants_fix(report: TenantReport) -> None:
    """Drop orphan schemas; give a clinic with no domain its primary one back. A clinic whose
    schema is missing is left for a human: its data may need a restore from a backup."""
    with connection.cursor() as cursor:
        for schema in report.orphan_schemas:
            cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
    for subdomain in report.clinics_without_domain:
        clinic = Clinic.objects.get(subdomain=subdomain)
        Domain.objects.get_or_create(
            domain=clinic_domain_for(subdomain), defaults={"tenant": clinic, "is_primary": True}
        )

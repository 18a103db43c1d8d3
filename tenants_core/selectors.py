"""Reading the platform: plans and clinics."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from backend.core.error_codes import CommonError
from tenants_core.limits import usage_by_schema
from tenants_core.models import Clinic, ClinicStatus, Domain, Plan


def plan_list() -> QuerySet[Plan]:
    return Plan.objects.order_by("monthly_price")


def clinic_list(*, search: str | None = None, status: str | None = None) -> QuerySet[Clinic]:
    """Every clinic (not the platform itself), filtered by name, subdomain, RUC or email."""
    clinics = Clinic.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
    if search:
        search = search.strip()
        clinics = clinics.filter(
            Q(name__unaccent__icontains=search)
            | Q(subdomain__icontains=search)
            | Q(legal_id__startswith=search)
            | Q(email__icontains=search)
        )
    if status:
        clinics = clinics.filter(status=status)
    return clinics.order_by("subdomain")


def clinic_get(*, subdomain: str) -> Clinic:
    """The clinic at ``subdomain`` (never the platform itself)."""
    clinic = (
        Clinic.objects.select_related("plan")
        .exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .filter(subdomain=(subdomain or "").strip().lower())
        .first()
    )
    if clinic is None:
        raise ValidationError(
            {
                "subdomain": ValidationError(
                    _("No clinic has this subdomain."), code=CommonError.NOT_FOUND
                )
            }
        )
    return clinic


def clinics_with_usage(clinics: list[Clinic]) -> list[Clinic]:
    """Attach ``usage_counts`` to each clinic of a page, in one SQL statement."""
    usage = usage_by_schema(clinic.schema_name for clinic in clinics)
    for clinic in clinics:
        clinic.usage_counts = usage[clinic.schema_name]
    return clinics


def tls_certificate_allowed(*, hostname: str) -> bool:
    """Whether the proxy may obtain a certificate for ``hostname`` (normalised: lowercase, no
    trailing dot): the platform's own ``BASE_DOMAIN``, or a domain registered to a clinic that
    is active (a suspended clinic's names get none: its requests are refused anyway, and a
    certificate would only cost the platform's rate limits). A clinic exists only once its
    provisioning committed, schema included, so no row here is half-made.

    No query for the platform's domain; else one, on the unique index of the domain name."""
    if hostname == settings.BASE_DOMAIN:
        return True
    return Domain.objects.filter(domain=hostname, tenant__status=ClinicStatus.ACTIVE).exists()

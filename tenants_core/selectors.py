"""Reading the platform: plans and clinics."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q, QuerySet

from tenants_core.models import Clinic, Plan


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

"""The demo data that ``scripts/dev`` seeds: two clinics with a valid RUC each."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from tenants_core.models import Clinic, PlanCode
from tenants_core.services import clinic_provision, public_tenant_ensure


@dataclass(frozen=True)
class DemoClinic:
    subdomain: str
    name: str
    legal_id: str
    plan: str


DEMO_CLINICS = (
    DemoClinic("clinica1", "Clínica Dental Norte", "20601234565", PlanCode.PROFESSIONAL),
    DemoClinic("clinica2", "Dental Smile", "20504321097", PlanCode.BASIC),
)


@transaction.atomic
def demo_seed(*, admin_password: str, base_domain: str) -> list[Clinic]:
    """Idempotent: create what is missing, leave what exists."""
    public_tenant_ensure()
    clinics = []
    for demo in DEMO_CLINICS:
        clinic = Clinic.objects.filter(subdomain=demo.subdomain).first()
        if clinic is None:
            clinic = clinic_provision(
                subdomain=demo.subdomain,
                name=demo.name,
                legal_id=demo.legal_id,
                email=f"contacto@{demo.subdomain}.{base_domain}",
                plan=demo.plan,
                admin_email=f"admin@{demo.subdomain}.{base_domain}",
                admin_password=admin_password,
                admin_full_name="Demo Admin",
            )
        clinics.append(clinic)
    return clinics

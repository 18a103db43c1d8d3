"""The demo data that ``scripts/dev`` seeds: the platform operator and two clinics, each
with an admin, a dentist and a receptionist, and its (fake) WhatsApp and SMS senders."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django_tenants.utils import schema_context, tenant_context

from backend.accounts.models import Role
from backend.demo.messaging import messaging_senders_ensure
from tenants_core.models import Clinic, PlanCode
from tenants_core.services import clinic_provision, public_tenant_ensure


@dataclass(frozen=True)
class DemoClinic:
    subdomain: str
    name: str
    legal_id: str
    plan: str
    whatsapp_phone_id: str  # fake: a WhatsApp Cloud phone-number id, routes its webhooks
    sms_number: str  # fake: the clinic's SMS number (E.164, Lima's +51 1 prefix)
    max_patients_override: int | None = None


DEMO_CLINICS = (
    # clinica1 holds about 200 demo patients: more than its plan's 100, so it shows the
    # per-clinic override at work. clinica2 stays within the basic plan.
    DemoClinic(
        "clinica1",
        "Clínica Dental Norte",
        "20601234565",
        PlanCode.PROFESSIONAL,
        whatsapp_phone_id="109000000000001",
        sms_number="+5117000001",
        max_patients_override=300,
    ),
    DemoClinic(
        "clinica2",
        "Dental Smile",
        "20504321097",
        PlanCode.BASIC,
        whatsapp_phone_id="109000000000002",
        sms_number="+5117000002",
    ),
)
DEMO_STAFF = (
    ("admin", "Demo Admin", Role.ADMIN),
    ("dentist", "Demo Dentist", Role.DENTIST),
    ("reception", "Demo Reception", Role.RECEPTIONIST),
)


@transaction.atomic
def platform_admin_ensure(*, email: str, password: str) -> None:
    """The platform operator (a superuser of the public schema). The password is set as
    given: development defaults are deliberately simple."""
    user_model = get_user_model()
    with schema_context("public"):
        if not user_model.objects.filter(email=email.lower()).exists():
            user_model.objects.create_superuser(
                email=email, password=password, full_name="Platform Admin"
            )


@transaction.atomic
def demo_seed(*, password: str, base_domain: str) -> list[Clinic]:
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
                admin_password=password,
                admin_full_name="Demo Admin",
            )
            if demo.max_patients_override is not None:
                clinic.max_patients_override = demo.max_patients_override
                clinic.save(update_fields=["max_patients_override"])
        messaging_senders_ensure(
            clinic=clinic, whatsapp_phone_id=demo.whatsapp_phone_id, sms_number=demo.sms_number
        )
        with tenant_context(clinic):
            user_model = get_user_model()
            for local_part, full_name, role in DEMO_STAFF:
                email = f"{local_part}@{demo.subdomain}.{base_domain}"
                if not user_model.objects.filter(email=email).exists():
                    user_model.objects.create_user(
                        email=email, password=password, full_name=full_name, role=role
                    )
        clinics.append(clinic)
    return clinics

"""Demo clinical data: the procedure catalog (about 30 procedures with Spanish names and
prices in soles), and charts, notes and treatment plans for some patients."""

from __future__ import annotations

import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from backend.accounts.models import Role, User
from backend.clinical import services as clinical
from backend.patients import services as patients
from backend.patients.models import Patient
from backend.resources.models import Professional
from backend.treatments import services as treatments
from backend.treatments.models import Procedure
from tenants_core.models import Clinic

# code, name, category, price (PEN), minutes, on a tooth, leaves on the chart, material
CATALOG = [
    ("CON", "Consulta y diagnóstico", "DIAGNOSIS", "50.00", 30, False, "", ""),
    ("RXP", "Radiografía periapical", "DIAGNOSIS", "25.00", 15, True, "", ""),
    ("RXPAN", "Radiografía panorámica", "DIAGNOSIS", "80.00", 15, False, "", ""),
    ("PRO", "Profilaxis", "PREVENTION", "90.00", 45, False, "", ""),
    ("FLU", "Aplicación de flúor", "PREVENTION", "40.00", 15, False, "", ""),
    ("SEL", "Sellante de fosas y fisuras", "PREVENTION", "45.00", 20, True, "SEALANT", ""),
    ("RES1", "Resina simple", "RESTORATIVE", "120.00", 30, True, "RESTORATION", "RESIN"),
    ("RES2", "Resina compuesta", "RESTORATIVE", "160.00", 45, True, "RESTORATION", "RESIN"),
    ("AMA", "Amalgama", "RESTORATIVE", "90.00", 30, True, "RESTORATION", "AMALGAM"),
    ("IONO", "Restauración con ionómero de vidrio", "RESTORATIVE", "80.00", 30, True, "RESTORATION", "GLASS_IONOMER"),
    ("INC", "Incrustación cerámica", "RESTORATIVE", "650.00", 60, True, "RESTORATION", "CERAMIC"),
    ("END1", "Endodoncia unirradicular", "ENDODONTICS", "350.00", 60, True, "ROOT_CANAL", ""),
    ("END2", "Endodoncia birradicular", "ENDODONTICS", "450.00", 75, True, "ROOT_CANAL", ""),
    ("END3", "Endodoncia multirradicular", "ENDODONTICS", "550.00", 90, True, "ROOT_CANAL", ""),
    ("PUL", "Pulpotomía", "ENDODONTICS", "150.00", 30, True, "", ""),
    ("DET", "Destartraje", "PERIODONTICS", "120.00", 45, False, "", ""),
    ("CUR", "Curetaje por cuadrante", "PERIODONTICS", "180.00", 45, False, "", ""),
    ("EXO1", "Exodoncia simple", "SURGERY", "100.00", 30, True, "MISSING", ""),
    ("EXO2", "Exodoncia compleja", "SURGERY", "250.00", 60, True, "MISSING", ""),
    ("TER", "Exodoncia de tercera molar", "SURGERY", "380.00", 60, True, "MISSING", ""),
    ("COR1", "Corona de porcelana", "PROSTHODONTICS", "900.00", 60, True, "CROWN", "CERAMIC"),
    ("COR2", "Corona de zirconio", "PROSTHODONTICS", "1200.00", 60, True, "CROWN", "ZIRCONIA"),
    ("PER", "Perno muñón", "PROSTHODONTICS", "250.00", 45, True, "", ""),
    ("PPR", "Prótesis parcial removible", "PROSTHODONTICS", "1100.00", 60, False, "", ""),
    ("PTO", "Prótesis total", "PROSTHODONTICS", "1500.00", 60, False, "", ""),
    ("ORT", "Ortodoncia: instalación de brackets", "ORTHODONTICS", "2500.00", 90, False, "", ""),
    ("ORTC", "Control de ortodoncia", "ORTHODONTICS", "150.00", 30, False, "", ""),
    ("IMP", "Implante dental", "IMPLANTS", "3500.00", 90, True, "IMPLANT", ""),
    ("BLA", "Blanqueamiento dental", "AESTHETICS", "600.00", 60, False, "", ""),
    ("CAR", "Carilla de resina", "AESTHETICS", "300.00", 45, True, "RESTORATION", "RESIN"),
]  # fmt: skip

FRONT_DESK_ALERT = "Avisar al doctor antes de cualquier procedimiento o anestesia"
POSTERIOR = [16, 17, 26, 27, 36, 37, 46, 47, 14, 15, 24, 25, 34, 35, 44, 45]


def _catalog() -> dict[str, Procedure]:
    procedures = Procedure.objects.bulk_create(
        Procedure(
            code=code,
            name=name,
            category=category,
            default_price=Decimal(price),
            default_duration_minutes=minutes,
            requires_tooth=on_tooth,
            result_condition=condition,
            result_material=material,
        )
        for code, name, category, price, minutes, on_tooth, condition, material in CATALOG
    )
    return {p.code: p for p in procedures}


@transaction.atomic
def clinic_clinical_demo_seed(clinic: Clinic, *, patients_with_records: int = 12) -> bool:
    """Seed the catalog, then charts, notes and plans for the first patients. Idempotent."""
    with tenant_context(clinic):
        if Procedure.objects.exists():
            return False
        catalog = _catalog()
        rng = random.Random(f"clinical:{clinic.subdomain}")
        dentist_user = User.objects.filter(role=Role.DENTIST).order_by("pk").first()
        author = dentist_user or User.objects.filter(role=Role.ADMIN).order_by("pk").first()
        professional = (
            Professional.objects.filter(user=dentist_user).first() or Professional.objects.first()
        )
        if author is None or professional is None:
            return True
        for patient in Patient.objects.order_by("pk")[:patients_with_records]:
            history = clinical.medical_history_record(
                actor=author,
                patient=patient,
                data={
                    "conditions": rng.sample(
                        ["HYPERTENSION", "DIABETES", "ASTHMA"], k=rng.randint(0, 1)
                    ),
                    "medications": "",
                    "allergies": patient.allergies,
                },
            )
            if history.allergies or history.conditions:
                # What the dentist chose to tell the front desk: not the diagnosis itself.
                patients.patient_front_desk_alert_set(
                    actor=author, patient=patient, text=FRONT_DESK_ALERT
                )
            caries = rng.sample(POSTERIOR, k=2)
            for tooth in caries:
                clinical.finding_record(
                    actor=author, patient=patient, tooth=tooth, condition="CARIES", surfaces=["O"]
                )
            clinical.finding_record(
                actor=author,
                patient=patient,
                tooth=rng.choice([18, 28, 38, 48]),
                condition="MISSING",
            )
            note = clinical.note_create(
                actor=author,
                patient=patient,
                data={
                    "subjective": "Refiere sensibilidad al frío.",
                    "objective": f"Caries oclusal en {caries[0]} y {caries[1]}.",
                    "assessment": "Caries dental.",
                    "plan": "Restauraciones con resina.",
                },
            )
            clinical.note_sign(actor=author, note=note)
            plan = treatments.plan_create(
                actor=author, patient=patient, dentist=professional, title="Plan de restauraciones"
            )
            treatments.plan_item_add(actor=author, plan=plan, procedure=catalog["PRO"], sequence=1)
            for index, tooth in enumerate(caries, start=2):
                treatments.plan_item_add(
                    actor=author,
                    plan=plan,
                    procedure=catalog["RES1"],
                    tooth=tooth,
                    surfaces=["O"],
                    sequence=index,
                    discount_percent=Decimal("10") if index == 3 else None,
                )
            treatments.plan_change_status(actor=author, plan=plan, status="PRESENTED")
            if rng.random() < 0.6:
                treatments.plan_change_status(actor=author, plan=plan, status="ACCEPTED")
                first = plan.items.order_by("sequence")[0]
                treatments.plan_item_complete(actor=author, item=first, performed_at=timezone.now())
        return True

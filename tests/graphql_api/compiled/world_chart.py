"""The chart's rows for the differential tests, on top of ``world``: anamneses with several
versions (conditions in any order, none, notes with accents and emoji, unknown pregnancy),
odontogram findings on several teeth (primary ones too), resolved ones and their successors,
recorded at odd seconds and microseconds, with and without surfaces and materials, existing and
planned; a catalog, and treatment plans in every status, with items whose prices and discounts
are exact cents (a full discount, a free item, cancelled and done items), and a plan with none.

``build_chart(world)`` is called from ``build_world``; ``chart_rows`` also makes the sized
charts that ``test_chart.py`` counts statements on.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django_tenants.utils import tenant_context

from backend.accounts.models import Role, User
from backend.clinical.models import Finding, MedicalHistory
from backend.patients.models import Patient
from backend.resources.models import Professional
from backend.treatments.models import (
    Category,
    ItemStatus,
    PlanStatus,
    Procedure,
    TreatmentPlan,
    TreatmentPlanItem,
)
from tests.dates import MONDAY, lima
from tests.factories import PatientFactory, ProfessionalFactory, StaffFactory
from tests.ids import global_id

# Instants of the chart's history: findings are recorded and resolved at these (and a few
# seconds around them), and ``odontogram(at:)`` asks for the chart at them.
BASE = lima(MONDAY - dt.timedelta(days=60), 9)
ODD = dt.timedelta(seconds=59, microseconds=999_999)  # truncated, never rounded
INSTANTS = [
    BASE - dt.timedelta(days=1),
    BASE,
    BASE + ODD,
    BASE + dt.timedelta(days=3),
    BASE + dt.timedelta(days=10, seconds=1),
    BASE + dt.timedelta(days=10, seconds=1, microseconds=500),
    BASE + dt.timedelta(days=20),
    BASE + dt.timedelta(days=400),
]

# (tooth, surfaces, condition, material, state, notes, recorded (days after BASE), resolved)
FINDINGS = [
    (16, ["O", "M", "D"], "CARIES", "", "EXISTING", "", 0, 10),
    (16, ["O", "M", "D"], "RESTORATION", "RESIN", "EXISTING", "Resina A2", 10, None),
    (11, ["V"], "FRACTURE", "", "EXISTING", "Trauma 🦷", 0, None),
    (11, [], "CROWN", "CERAMIC", "PLANNED", "", 3, None),
    (26, [], "ROOT_CANAL", "", "EXISTING", "", 3, 20),
    (26, [], "CROWN", "ZIRCONIA", "EXISTING", "Ñandú\nlínea 2", 20, None),
    (36, [], "MISSING", "", "EXISTING", "", 0, None),
    (48, [], "EXTRACTION_INDICATED", "", "PLANNED", "", 3, 3),  # resolved at once
    (55, ["O"], "SEALANT", "", "EXISTING", "Temporal", 0, None),
    (21, ["M", "I"], "RESTORATION", "OTHER", "EXISTING", "", 10, None),
    (21, [], "ORTHODONTIC_APPLIANCE", "METAL", "EXISTING", "", 20, None),
]


def _instant(days: int, index: int) -> dt.datetime:
    # Odd seconds for every other row; equal instants (ties broken by id) for others.
    return BASE + dt.timedelta(days=days) + (ODD if index % 2 else dt.timedelta(0))


def build_chart(world: Any) -> None:
    """Adds the chart's rows to ``world`` (both clinics) and their IDs to ``world.ids``."""
    with tenant_context(world.clinic):
        users = {user.role: user for user in User.objects.filter(email__endswith="@w.pe")}
        patients = list(Patient.objects.order_by("pk"))
        dentists = list(Professional.objects.filter(is_active=True).order_by("pk"))
        procedures = catalog()
        chart_patients = patients[:4]
        _histories(chart_patients[0], users, versions=3)
        _histories(chart_patients[1], users, versions=1)
        _histories(chart_patients[3], users, versions=2)
        for index, row in enumerate(FINDINGS):
            _finding(chart_patients[0], users[Role.DENTIST], row, index)
        for index, row in enumerate(FINDINGS[::3]):
            _finding(chart_patients[1], users[Role.ASSISTANT], row, index + 1)
        plans = []
        for patient_index, statuses in ((0, list(PlanStatus)), (1, [PlanStatus.DRAFT]), (3, [])):
            for index, status in enumerate(statuses):
                plans.append(
                    _plan(
                        chart_patients[patient_index],
                        dentists[index % len(dentists)],
                        users[Role.DENTIST],
                        status,
                        procedures,
                        index,
                    )
                )
    with tenant_context(world.other_clinic):
        stranger = StaffFactory(role=Role.DENTIST, email="dentist@otra.pe")
        other_patient = PatientFactory(first_name="Ana", last_name="Otra Clínica")
        _histories(other_patient, {Role.DENTIST: stranger, Role.ASSISTANT: stranger}, versions=1)
        _finding(other_patient, stranger, FINDINGS[0], 0)
        other_plan = _plan(
            other_patient,
            ProfessionalFactory(full_name="Dra. Otra Clínica"),
            stranger,
            PlanStatus.PRESENTED,
            catalog(),
            0,
        )
    world.ids["ChartPatient"] = [global_id("Patient", p.pk, world.clinic) for p in chart_patients]
    world.ids["TreatmentPlan"] = [global_id("TreatmentPlan", p.pk, world.clinic) for p in plans]
    world.other_ids["ChartPatient"] = [global_id("Patient", other_patient.pk, world.other_clinic)]
    world.other_ids["TreatmentPlan"] = [
        global_id("TreatmentPlan", other_plan.pk, world.other_clinic)
    ]


def catalog() -> list[Procedure]:
    """Procedures of every kind the items point at: prices with cents, a free one, results on
    the odontogram or none, an inactive one."""
    rows = [
        ("D0150", "Examen clínico", Category.DIAGNOSIS, "0.00", "", "", False, True),
        ("R2330", "Resina simple", Category.RESTORATIVE, "120.50", "RESTORATION", "RESIN", True, True),
        ("E3310", "Endodoncia unirradicular", Category.ENDODONTICS, "450.00", "ROOT_CANAL", "", True, True),
        ("P2740", "Corona de zirconio", Category.PROSTHODONTICS, "1899.99", "CROWN", "ZIRCONIA", True, True),
        ("S7140", "Exodoncia simple", Category.SURGERY, "99999999.99", "MISSING", "", True, False),
    ]  # fmt: skip
    return [
        Procedure.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "category": category,
                "default_price": Decimal(price),
                "result_condition": condition,
                "result_material": material,
                "requires_tooth": requires_tooth,
                "is_active": active,
                "default_duration_minutes": 45,
            },
        )[0]
        for code, name, category, price, condition, material, requires_tooth, active in rows
    ]


def _histories(patient: Patient, users: dict[str, User], *, versions: int) -> None:
    conditions = [[], ["HYPERTENSION", "DIABETES"], ["HIV", "ASTHMA", "HYPERTENSION", "CANCER"]]
    for version in range(1, versions + 1):
        MedicalHistory.objects.create(
            patient=patient,
            version=version,
            conditions=conditions[(version - 1) % 3],
            conditions_notes="" if version % 2 else "Controlada con enalapril ✓",
            medications="Metformina 850 mg" if version > 1 else "",
            allergies="Penicilina, látex" if version == 2 else "",
            is_pregnant=[None, True, False][version % 3],
            is_smoker=version % 2 == 0,
            takes_anticoagulants=version == 3,
            last_dental_visit=None if version == 1 else dt.date(2020 + version, 2, 29 - version),
            recorded_by=users[Role.DENTIST if version % 2 else Role.ASSISTANT],
            recorded_at=BASE + dt.timedelta(days=version, seconds=version * 7, microseconds=999),
        )


def _finding(patient: Patient, user: User, row: tuple[Any, ...], index: int) -> Finding:
    tooth, surfaces, condition, material, state, notes, recorded, resolved = row
    return Finding.objects.create(
        patient=patient,
        tooth=tooth,
        surfaces=surfaces,
        condition=condition,
        material=material,
        state=state,
        notes=notes,
        recorded_by=user,
        recorded_at=_instant(recorded, index),
        resolved_at=None if resolved is None else _instant(resolved, index),
        resolved_by=None if resolved is None else user,
    )


# (procedure index, tooth, surfaces, price, discount, phase, status)
ITEMS = [
    (1, 16, ["O", "M"], "120.50", "0.00", 1, ItemStatus.DONE),
    (2, 26, [], "450.00", "45.05", 1, ItemStatus.PLANNED),
    (3, 26, [], "1899.99", "1899.99", 2, ItemStatus.PLANNED),  # a full discount
    (0, None, [], "0.00", "0.00", 1, ItemStatus.DONE),  # a free examination
    (1, 11, ["V"], "99.99", "0.01", 2, ItemStatus.CANCELLED),
    (4, 48, [], "99999999.99", "0.99", 3, ItemStatus.DONE),  # the largest price there is
]


def _plan(
    patient: Patient,
    dentist: Professional,
    user: User,
    status: str,
    procedures: list[Procedure],
    index: int,
) -> TreatmentPlan:
    created = BASE + dt.timedelta(days=index // 2) + (ODD if index % 3 else dt.timedelta(0))
    plan = TreatmentPlan.objects.create(
        patient=patient,
        dentist=dentist,
        title=["Rehabilitación integral", "Plan básico", "Endodoncia y corona 👑", ""][index % 4],
        status=status,
        created_by=user,
        created_at=created,  # two plans share each instant: the newer id goes first
        updated_at=created + dt.timedelta(hours=index, seconds=index),
    )
    for position, (procedure, tooth, surfaces, price, discount, phase, item_status) in enumerate(
        ITEMS[: index % (len(ITEMS) + 1)]
    ):
        TreatmentPlanItem.objects.create(
            plan=plan,
            procedure=procedures[procedure],
            tooth=tooth,
            surfaces=surfaces,
            price=Decimal(price),
            discount=Decimal(discount),
            phase=phase,
            sequence=len(ITEMS) - position,  # the order is phase, sequence: not creation
            status=item_status,
        )
    return plan


def chart_rows(patient: Patient, user: User, dentist: Professional, count: int) -> None:
    """A chart of ``count`` findings (every tooth in turn) and a plan of ``count`` items."""
    procedures = catalog()
    teeth = [11, 12, 13, 14, 15, 16, 17, 18, 21, 22, 23, 24, 25, 26, 27, 28, 31, 36, 46, 55]
    MedicalHistory.objects.create(
        patient=patient, version=1, conditions=["ASTHMA"], recorded_by=user, recorded_at=BASE
    )
    for index in range(count):
        Finding.objects.create(
            patient=patient,
            tooth=teeth[index % len(teeth)],
            surfaces=["O"],
            condition="CARIES",
            state="EXISTING",
            recorded_by=user,
            recorded_at=BASE + dt.timedelta(minutes=index),
        )
    plan = TreatmentPlan.objects.create(
        patient=patient, dentist=dentist, title="Plan", status="ACCEPTED", created_by=user
    )
    for index in range(count):
        TreatmentPlanItem.objects.create(
            plan=plan,
            procedure=procedures[index % len(procedures)],
            price=Decimal("10.10") + index,
            discount=Decimal("0.05"),
            sequence=index + 1,
            status=list(ItemStatus)[index % 3],
        )

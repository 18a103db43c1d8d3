"""The demo data that scripts/dev seeds: realistic, within the plan, idempotent."""

import pytest
from django.db.models import Count
from django_tenants.utils import tenant_context

from backend.core.demo import clinic_demo_data_seed
from backend.patients.models import Patient
from backend.scheduling.models import Appointment
from backend.staff.models import Chair, Professional

pytestmark = pytest.mark.django_db


def test_a_basic_clinic_gets_demo_data_within_its_plan_once(clinic2):
    assert clinic_demo_data_seed(clinic2, patients=clinic2.max_patients - 5) is True
    with tenant_context(clinic2):
        assert Patient.objects.filter(is_archived=False).count() == 45 <= clinic2.max_patients
        assert Professional.objects.count() == 4
        assert Chair.objects.count() == 3
        appointments = Appointment.objects.count()
        assert appointments > 50
        # Spanish names with accents are part of the point.
        assert Patient.objects.filter(last_name__regex="[áéíóúñÁÉÍÓÚÑ]").exists()
        # No professional is ever booked twice in an overlapping way (the constraint holds).
        assert (
            not Appointment.objects.values("professional", "starts_at")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
        )
    assert clinic_demo_data_seed(clinic2, patients=45) is False
    with tenant_context(clinic2):
        assert Appointment.objects.count() == appointments


def test_the_demo_patients_are_capped_by_the_plan(clinic2):
    clinic_demo_data_seed(clinic2, patients=500)
    with tenant_context(clinic2):
        assert Patient.objects.count() == clinic2.max_patients


def test_demo_clinical_data_gives_charts_notes_and_plans(clinic2):
    from backend.clinical.models import ClinicalNote, Finding
    from backend.core.demo_clinical import clinic_clinical_demo_seed
    from backend.treatments.models import Procedure, TreatmentPlan

    clinic_demo_data_seed(clinic2, patients=20)
    assert clinic_clinical_demo_seed(clinic2, patients_with_records=5) is True
    with tenant_context(clinic2):
        assert Procedure.objects.count() == 30
        assert Procedure.objects.filter(name="Endodoncia unirradicular").exists()
        assert TreatmentPlan.objects.count() == 5
        assert ClinicalNote.objects.filter(status="SIGNED").count() == 5
        assert Finding.objects.filter(resolved_at__isnull=True).exists()
    assert clinic_clinical_demo_seed(clinic2) is False

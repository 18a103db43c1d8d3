"""The demo data that scripts/dev seeds: realistic, within the plan, idempotent."""

import datetime as dt
import itertools
from collections import defaultdict

import pytest
from django_tenants.utils import tenant_context

from backend.demo.front_desk import clinic_demo_data_seed
from backend.patients.models import Patient
from backend.resources.models import Chair, Professional
from backend.scheduling.models import Appointment

pytestmark = pytest.mark.django_db

INACTIVE = ("CANCELLED", "NO_SHOW")  # they free their slot (README)


def overlaps(appointments, resource):
    """(resource, earlier, later) for each pair of appointments of one resource whose
    half-open intervals [start, end) intersect. Sorted by start, any clash shows between
    neighbours."""
    by_resource = defaultdict(list)
    for appointment in appointments:
        by_resource[getattr(appointment, resource)].append(appointment)
    clashes = []
    for key, booked in sorted(by_resource.items()):
        booked.sort(key=lambda a: (a.starts_at, a.pk))
        for earlier, later in itertools.pairwise(booked):
            if later.starts_at < earlier.ends_at:
                clashes.append((key, earlier.pk, later.pk))
    return clashes


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
        # No professional and no chair is ever booked twice at once: real interval overlap
        # of the active appointments, not only equal start times.
        active = list(Appointment.objects.exclude(status__in=INACTIVE))
        assert overlaps(active, "professional_id") == []
        assert overlaps(active, "chair_id") == []
    assert clinic_demo_data_seed(clinic2, patients=45) is False
    with tenant_context(clinic2):
        assert Appointment.objects.count() == appointments


def test_the_overlap_check_finds_what_it_looks_for():
    """A positive control for ``overlaps``: it would report a clash if the seed made one."""
    day = dt.datetime(2020, 1, 6, 9, tzinfo=dt.UTC)

    def booked(pk, professional, chair, start, minutes):
        starts = day + dt.timedelta(minutes=start)
        return Appointment(
            pk=pk, professional_id=professional, chair_id=chair, starts_at=starts,
            ends_at=starts + dt.timedelta(minutes=minutes),
        )  # fmt: skip

    rows = [
        booked(1, 1, 1, 0, 60),
        booked(2, 1, 2, 60, 30),  # back to back with 1: fine
        booked(3, 2, 1, 30, 15),  # inside 1, on its chair
        booked(4, 1, 3, 80, 30),  # starts during 2, another start time
    ]
    assert overlaps(rows, "professional_id") == [(1, 2, 4)]
    assert overlaps(rows, "chair_id") == [(1, 1, 3)]


def test_the_demo_patients_are_capped_by_the_plan(clinic2):
    clinic_demo_data_seed(clinic2, patients=500)
    with tenant_context(clinic2):
        assert Patient.objects.count() == clinic2.max_patients


def test_demo_clinical_data_gives_charts_notes_and_plans(clinic2):
    from backend.clinical.models import ClinicalNote, Finding
    from backend.demo.clinical import clinic_clinical_demo_seed
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

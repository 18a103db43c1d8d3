"""The demo clinics come with a profile, split-shift hours and a holiday, and every demo
appointment falls inside those hours."""

import pytest
from django_tenants.utils import tenant_context

from backend.clinic_admin.models import ClinicClosure, ClinicProfile, OpeningShift
from backend.demo.front_desk import clinic_demo_data_seed
from backend.scheduling.availability import clinic_open_between
from backend.scheduling.models import Appointment
from tenants_core.context import current_timezone

pytestmark = pytest.mark.django_db


def test_the_demo_clinic_has_a_profile_hours_a_holiday_and_bookings_inside_them(clinic2):
    assert clinic_demo_data_seed(clinic2, patients=20) is True
    with tenant_context(clinic2):
        profile = ClinicProfile.objects.get()
        assert (profile.district, profile.ubigeo) == ("Miraflores", "150122")
        assert profile.phone.startswith("+511")
        assert OpeningShift.objects.count() == 11
        assert OpeningShift.objects.filter(weekday=6).count() == 1
        assert not OpeningShift.objects.filter(weekday=7).exists()
        [holiday] = ClinicClosure.objects.all()
        appointments = list(Appointment.objects.all())
        assert len(appointments) > 20
        assert all(a.starts_at.astimezone(current_timezone()).date() < holiday.starts_on
                   for a in appointments)  # fmt: skip
        outside = [a.pk for a in appointments
                   if not clinic_open_between(a.starts_at, a.ends_at, current_timezone())]  # fmt: skip
        assert outside == []

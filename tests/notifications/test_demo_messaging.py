"""The demo seed sets up patient messaging: each demo clinic's WhatsApp and SMS senders,
its messaging settings, patients who can be reached (phone, email, preferences), and the
week's upcoming appointments booked through the scheduling service, so that their reminders
are planned like any booking's."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.demo.clinics import DEMO_CLINICS, demo_seed
from backend.demo.front_desk import clinic_demo_data_seed
from backend.notifications.models import ContactPreference, MessagingSettings
from backend.patients.models import Patient
from backend.scheduling import hooks
from backend.scheduling.hooks import AppointmentEvent
from backend.scheduling.models import Appointment
from tenants_core.models import Clinic, MessagingChannel, MessagingSender

pytestmark = pytest.mark.django_db


def test_the_demo_clinics_get_their_senders_once(clinic1, clinic2):
    demo_seed(password="demo-pass-123", base_domain="localhost")
    demo_seed(password="demo-pass-123", base_domain="localhost")  # idempotent

    for demo in DEMO_CLINICS:
        clinic = Clinic.objects.get(subdomain=demo.subdomain)
        senders = {
            sender.channel: sender.external_id
            for sender in MessagingSender.objects.filter(clinic=clinic)
        }
        assert senders == {
            MessagingChannel.WHATSAPP: demo.whatsapp_phone_id,
            MessagingChannel.SMS: demo.sms_number,
        }
    assert len({d.whatsapp_phone_id for d in DEMO_CLINICS}) == len(DEMO_CLINICS)
    assert len({d.sms_number for d in DEMO_CLINICS}) == len(DEMO_CLINICS)


def test_the_demo_seed_leaves_messaging_settings_and_reachable_patients(clinic2):
    with tenant_context(clinic2):
        MessagingSettings.objects.all().delete()  # a clinic made before the migration's row

    assert clinic_demo_data_seed(clinic2, patients=45) is True

    with tenant_context(clinic2):
        settings_row = MessagingSettings.objects.get(pk=1)
        assert settings_row.enabled is True
        patients = list(Patient.objects.order_by("pk"))
        assert all(p.phone.startswith("+519") and len(p.phone) == 12 for p in patients)
        assert all(p.email.endswith("@example.com") for p in patients)
        assert len({p.email for p in patients}) == len(patients)
        preferences = ContactPreference.objects.filter(patient__in=patients)
        assert preferences.count() == len(patients)
        assert preferences.filter(whatsapp=False).count() == 45 // 7
        opted_out = preferences.filter(opted_out_at__isnull=False)
        assert opted_out.count() == 45 // 23
        assert set(opted_out.values_list("opt_out_source", flat=True)) == {"demo"}


def test_upcoming_demo_appointments_are_booked_through_the_service(
    clinic2, make_staff, monkeypatch
):
    receptionist = make_staff(clinic2, Role.RECEPTIONIST)
    seen: list[tuple[int, AppointmentEvent]] = []
    monkeypatch.setattr(
        hooks,
        "_hooks",
        [*hooks._hooks, lambda appointment, event: seen.append((appointment.pk, event))],
    )
    started = timezone.now()

    clinic_demo_data_seed(clinic2, patients=45)

    with tenant_context(clinic2):
        upcoming = Appointment.objects.filter(created_at__gte=started, created_by=receptionist)
        booked_later = Appointment.objects.filter(starts_at__gt=timezone.now())
        scheduled_events = AuditEvent.objects.filter(action="appointment.schedule")
        assert set(upcoming.values_list("pk", flat=True)) == set(
            booked_later.values_list("pk", flat=True)
        )
        assert scheduled_events.count() == upcoming.count()
        assert {pk for pk, event in seen if event == AppointmentEvent.SCHEDULED} == set(
            upcoming.values_list("pk", flat=True)
        )
        confirmed = upcoming.filter(status="CONFIRMED").count()
        assert len([e for _, e in seen if e == AppointmentEvent.STATUS_CHANGED]) == confirmed
        # The past part of the week is seed data, nobody's booking.
        assert not Appointment.objects.filter(starts_at__lte=started, created_by__isnull=False)

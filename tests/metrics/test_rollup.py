"""The daily rollup on a clinic with known data: every figure exact, the clinic's local day
(America/Lima, UTC−5) and not the UTC one, one statement per clinic, and idempotent."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from backend.accounts.models import AuthToken, User
from backend.audit.models import AuditEvent
from backend.billing.models import Payment, Receipt
from backend.files.models import StoredFile
from backend.metrics.models import ClinicDayMetrics
from backend.metrics.rollup import clinic_day_rollup, day_bounds
from backend.notifications.models import MessageUsage, Notification
from backend.scheduling.models import Appointment
from tests.factories import ChairFactory, PatientFactory, ProfessionalFactory, StaffFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 3, 12)  # local day in Lima: [2024-03-12 05:00Z, 2024-03-13 05:00Z)
_keys = itertools.count()


def at(day_offset: int, hour: int, minute: int = 0) -> dt.datetime:
    """A UTC instant, ``day_offset`` days after DAY."""
    return dt.datetime.combine(DAY + dt.timedelta(days=day_offset), dt.time(hour, minute), dt.UTC)


def _token(user: User, created_at: dt.datetime) -> None:
    AuthToken.objects.create(
        key_hash=f"metrics-{next(_keys)}",
        user=user,
        created_at=created_at,
        expires_at=created_at + dt.timedelta(days=1),
    )


def _known_day() -> None:
    """Rows on both sides of the local day's bounds (04:59Z and 05:00Z)."""
    PatientFactory(created_at=at(0, 4, 59))  # 23:59 on the day before, in Lima
    patient = PatientFactory(created_at=at(0, 5, 0))
    PatientFactory(created_at=at(1, 4, 59))  # 23:59 local: still the day
    PatientFactory(created_at=at(0, 10), is_archived=True)
    PatientFactory(created_at=at(1, 5, 0))  # the next local day
    admin = User.objects.get(email="admin@clinica1.pe")
    staff = StaffFactory(email="metrics1@clinica1.pe", date_joined=at(0, 12))
    StaffFactory(email="metrics2@clinica1.pe", date_joined=at(0, 12), is_active=False)
    _token(staff, at(0, 13))
    _token(staff, at(0, 14))
    _token(admin, at(0, 15))
    _token(admin, at(1, 6))  # the next day
    professional, chair = ProfessionalFactory(), ChairFactory()

    def appointment(start: dt.datetime, status: str, created_at: dt.datetime) -> None:
        Appointment.objects.create(
            patient=patient, professional=professional, chair=chair, starts_at=start,
            ends_at=start + dt.timedelta(minutes=30), status=status, created_at=created_at,
        )  # fmt: skip

    appointment(at(0, 14), "COMPLETED", at(-1, 12))
    appointment(at(0, 15), "NO_SHOW", at(0, 6))
    appointment(at(0, 16), "CANCELLED", at(0, 6))
    appointment(at(0, 17), "COMPLETED", at(-1, 12))
    appointment(at(1, 4, 30), "NO_SHOW", at(-1, 12))  # 23:30 local
    appointment(at(1, 5, 30), "COMPLETED", at(1, 4))  # next day; created 23:00 local
    for kind, amount, pen, currency, when in (
        ("PAYMENT", "100.00", "100.00", "PEN", at(0, 12)),
        ("PAYMENT", "10.00", "37.50", "USD", at(0, 13)),
        ("REFUND", "20.00", "20.00", "PEN", at(0, 14)),
        ("PAYMENT", "999.00", "999.00", "PEN", at(1, 5)),
    ):
        Payment.objects.create(
            patient=patient, kind=kind, amount=Decimal(amount), amount_pen=Decimal(pen),
            currency=currency, exchange_rate=Decimal("3.75") if currency == "USD" else 1,
            method="CASH", paid_at=when, received_by=admin,
            reason="devolución" if kind == "REFUND" else "",
        )  # fmt: skip
    for number, issued, voided in ((1, at(0, 12), None), (2, at(0, 13), at(1, 4)),
                                   (3, at(-1, 20), at(0, 10))):  # fmt: skip
        Receipt.objects.create(
            receipt_type="BOLETA", series="B901", number=number, patient=patient,
            customer_name="X", customer_document="12345678", igv_rate=Decimal("0.18"),
            subtotal=Decimal("10.00"), tax=Decimal("1.80"), total=Decimal("11.80"),
            status="VOID" if voided else "ISSUED", issued_by=admin, issued_at=issued,
            voided_at=voided, voided_by=admin if voided else None,
        )  # fmt: skip
    for size, when in ((1000, at(0, 10)), (500, at(1, 6))):
        stored = StoredFile.objects.create(
            key=f"clinics/x/metrics-{next(_keys)}", purpose="DOCUMENT",
            content_type="application/pdf", size_bytes=size, sha256="0" * 64,
        )  # fmt: skip
        StoredFile.objects.filter(pk=stored.pk).update(created_at=when)
    for channel, when in (("WHATSAPP", at(0, 12)), ("SMS", at(0, 13)), ("EMAIL", at(0, 14)),
                          ("WHATSAPP", at(1, 6))):  # fmt: skip
        Notification.objects.create(
            kind="RECALL", channel=channel, status="SENT", patient=patient, send_at=when,
            sent_at=when,
        )  # fmt: skip
    AuditEvent.objects.create(
        action="patient.update", entity_type="x", actor=staff, created_at=at(0, 20)
    )
    # The clinic's own jobs (retention) audit with no user: not the clinic's activity.
    AuditEvent.objects.create(
        action="assistant.purge_transcripts", entity_type="x", created_at=at(0, 23)
    )
    AuditEvent.objects.create(action="patient.update", entity_type="x", created_at=at(1, 10))
    # The quota meter of the day's month, and another month's.
    MessageUsage.objects.create(month=DAY.replace(day=1), whatsapp=7, sms=4, email=9)
    MessageUsage.objects.create(month=dt.date(2024, 2, 1), whatsapp=50, sms=50)


def test_day_bounds_are_the_clinic_local_midnights():
    assert day_bounds(DAY, "America/Lima") == (at(0, 5), at(1, 5))
    assert day_bounds(DAY, "UTC") == (at(0, 0), at(1, 0))


def test_every_figure_of_a_known_day_is_exact(clinic1):
    with tenant_context(clinic1):
        _known_day()
    connection.set_schema_to_public()
    before = clinic_day_rollup(clinic=clinic1, day=DAY - dt.timedelta(days=1))
    with CaptureQueriesContext(connection) as captured:
        row = clinic_day_rollup(clinic=clinic1, day=DAY)
    upserts = [q["sql"] for q in captured.captured_queries if "INSERT INTO" in q["sql"]]
    assert len(upserts) == 1  # one statement over the clinic's schema
    assert f'"{clinic1.schema_name}"."scheduling_appointment"' in upserts[0]
    assert (row.plan_code, row.status) == (clinic1.plan.code, "active")
    assert row.plan_monthly_price == clinic1.plan.monthly_price
    assert row.users - before.users == 1  # the inactive one does not count
    assert row.active_users == 2
    assert row.patients - before.patients == 2  # the archived one does not count
    assert row.new_patients == 3
    assert before.new_patients >= 1  # 23:59 local the day before
    assert row.appointments_created == 3
    assert (row.appointments_completed, row.appointments_cancelled) == (2, 1)
    assert row.appointments_no_show == 2
    assert row.no_show_rate == Decimal("0.5000")
    assert row.payments_collected == Decimal("137.50")
    assert row.refunds == Decimal("20.00")
    assert row.currency == "PEN"
    assert (row.receipts_issued, row.receipts_voided) == (2, 2)
    assert row.storage_bytes - before.storage_bytes == 1000
    assert row.messages_sent == 3
    assert (row.messages_whatsapp, row.messages_sms, row.messages_email) == (1, 1, 1)
    assert row.messages_metered_month == 11  # WhatsApp + SMS; email is not metered
    assert row.last_activity_at == at(0, 20)  # not the retention job's event at 23:00


def test_a_day_without_outcomes_has_no_no_show_rate(clinic1):
    row = clinic_day_rollup(clinic=clinic1, day=dt.date(2023, 1, 2))
    assert row.appointments_completed == row.appointments_no_show == 0
    assert row.no_show_rate is None


def test_running_a_day_twice_gives_the_same_row(clinic1):
    with tenant_context(clinic1):
        _known_day()
    connection.set_schema_to_public()
    first = clinic_day_rollup(clinic=clinic1, day=DAY)
    second = clinic_day_rollup(clinic=clinic1, day=DAY)
    assert ClinicDayMetrics.objects.filter(clinic=clinic1, day=DAY).count() == 1
    assert first.pk == second.pk
    fields = [f.name for f in ClinicDayMetrics._meta.fields if f.name != "computed_at"]
    assert {f: getattr(first, f) for f in fields} == {f: getattr(second, f) for f in fields}
    assert second.computed_at >= first.computed_at


def test_a_final_day_keeps_what_the_schema_cannot_recompute(clinic1):
    """A patient archived after the day was final does not change that day's count; a status
    changed later (an outcome) does."""
    with tenant_context(clinic1):
        _known_day()
    connection.set_schema_to_public()
    first = clinic_day_rollup(clinic=clinic1, day=DAY)  # computed long after the day: final
    with tenant_context(clinic1):
        from backend.patients.models import Patient

        Patient.objects.filter(created_at=at(0, 5)).update(is_archived=True)
        Appointment.objects.filter(starts_at=at(0, 17)).update(status="NO_SHOW")
        # A resend clears the notification's sent_at (notification_resend): the day's sends
        # must not drop with it.
        Notification.objects.filter(sent_at=at(0, 12)).update(sent_at=None, status="PENDING")
        MessageUsage.objects.filter(month=DAY.replace(day=1)).update(whatsapp=70)
    connection.set_schema_to_public()
    again = clinic_day_rollup(clinic=clinic1, day=DAY)
    assert again.patients == first.patients
    assert (again.messages_sent, again.messages_whatsapp) == (3, 1)
    assert again.messages_metered_month == first.messages_metered_month == 11
    assert (again.appointments_completed, again.appointments_no_show) == (1, 3)
    assert again.no_show_rate == Decimal("0.7500")

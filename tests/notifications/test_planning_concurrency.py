"""Two plannings of one appointment at once (a retry racing the booking, two workers): real
transactions in two threads leave one message per rule and channel, and no error."""

from __future__ import annotations

import threading

from django.db import connection

from backend.accounts.models import Role
from backend.core.tenancy import clinic_context
from backend.notifications import delivery
from backend.notifications.models import Notification
from backend.scheduling.hooks import AppointmentEvent
from backend.scheduling.models import Appointment
from tenants_core.models import Clinic
from tests.dates import MONDAY, lima
from tests.factories import StaffFactory
from tests.notifications.delivery_support import make_desk


def test_two_concurrent_plannings_leave_one_row_per_rule(django_db_blocker, committed_clinic):
    clinic = committed_clinic("plan-paralelo", plan="basic")
    with django_db_blocker.unblock():
        with clinic_context(clinic):
            actor = StaffFactory(email="recep@paralelo.pe", role=Role.RECEPTIONIST)
            desk = make_desk(clinic, actor)
            appointment = desk.book(lima(MONDAY, 10))
            Notification.objects.filter(appointment=appointment).delete()
        barrier = threading.Barrier(2)
        inserted = threading.Event()
        errors: list[BaseException] = []

        def plan(first: bool) -> None:
            try:
                fresh = Clinic.objects.get(pk=clinic.pk)
                with clinic_context(fresh):
                    row = Appointment.objects.select_related("patient").get(pk=appointment.pk)
                    barrier.wait(timeout=20)
                    if not first:
                        inserted.wait(timeout=20)  # the other has inserted, not committed
                    delivery.appointment_messages_plan(row, AppointmentEvent.SCHEDULED)
                    if first:
                        inserted.set()
                        # hold the transaction open while the other plans (it must wait on
                        # the unique index, then insert nothing)
                        threading.Event().wait(1.0)
            except BaseException as error:  # reported below
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=plan, args=(flag,)) for flag in (True, False)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        with clinic_context(clinic):
            rows = list(
                Notification.objects.filter(appointment_id=appointment.pk).values_list(
                    "kind", "channel"
                )
            )
        assert sorted(rows) == [("CONFIRMATION_REQUEST", "WHATSAPP"), ("REMINDER", "WHATSAPP")]

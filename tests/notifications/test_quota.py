"""The plan's monthly quota of metered messages (WhatsApp + SMS), counted per clinic-local
month under a row lock: past it, messages are HELD with PLAN_LIMIT_REACHED, never dropped."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from backend.core.tenancy import clinic_context
from backend.notifications import channels, delivery
from backend.notifications.models import MessageUsage, Notification
from tenants_core.models import Clinic
from tests.dates import LIMA, MONDAY, lima
from tests.notifications.delivery_support import (  # noqa: F401 - the fixture
    desk_fixture,
    make_desk,
    notifications_of,
)


def _first_of_month(moment: dt.datetime) -> dt.date:
    return moment.astimezone(LIMA).date().replace(day=1)


@pytest.mark.django_db
def test_past_the_quota_a_metered_message_is_held_and_email_still_goes(desk, monkeypatch):
    monkeypatch.setattr(channels, "send", lambda message: "id-1")
    assert desk.clinic.max_monthly_messages == 1000  # professional plan
    appointment = desk.book(lima(MONDAY, 10))
    note = notifications_of(appointment)[0]
    month = _first_of_month(note.send_at)
    MessageUsage.objects.create(month=month, whatsapp=600, sms=400)

    delivery.notification_send(notification_id=note.pk, now=note.send_at)

    note.refresh_from_db()
    assert (note.status, note.failure_code) == ("HELD", "PLAN_LIMIT_REACHED")
    assert note.failure_reason
    assert MessageUsage.objects.get(month=month).metered == 1000  # not overshot

    desk.patient.phone = ""
    desk.patient.save()
    other = desk.book(lima(MONDAY, 16))
    email = notifications_of(other)[0]
    assert email.channel == "EMAIL"
    delivery.notification_send(notification_id=email.pk, now=email.send_at)
    email.refresh_from_db()
    assert email.status == "SENT"
    assert MessageUsage.objects.get(month=month).email == 1


@pytest.mark.django_db
def test_the_month_is_the_clinic_local_month(desk, monkeypatch):
    monkeypatch.setattr(channels, "send", lambda message: "id-2")
    appointment = desk.book(lima(MONDAY, 10))
    note = notifications_of(appointment)[0]
    # 23:30 on the last day of a month in Lima is already the next month in UTC.
    last_day = MONDAY.replace(day=1) - dt.timedelta(days=1)
    late = dt.datetime.combine(last_day, dt.time(23, 30), tzinfo=LIMA)
    Notification.objects.filter(pk=note.pk).update(send_at=late)

    delivery.notification_send(notification_id=note.pk, now=late)

    assert list(MessageUsage.objects.values_list("month", "whatsapp")) == [
        (last_day.replace(day=1), 1)
    ]


@pytest.mark.django_db
def test_a_held_message_is_kept_with_its_appointment(desk):
    appointment = desk.book(lima(MONDAY, 10))
    note = notifications_of(appointment)[0]
    MessageUsage.objects.create(month=_first_of_month(note.send_at), whatsapp=1000)
    delivery.notification_send(notification_id=note.pk, now=note.send_at)
    note.refresh_from_db()
    assert note.status == "HELD"
    # A held message still moves with its appointment and is cancelled with it.
    assert Notification.objects.filter(appointment=appointment, status="HELD").count() == 1


def test_concurrent_workers_never_overshoot_the_quota(
    django_db_blocker, committed_clinic, monkeypatch
):
    """Two workers, real transactions, one message left in the quota: one is sent, the
    other held. ``channels.send`` waits so that both hold their step-1 transaction open at
    once if the lock did not serialize them."""
    clinic = committed_clinic("cuota-paralela", plan="basic")  # 300 messages
    monkeypatch.setattr(channels, "send", lambda message: f"id-{message.reference}")
    with django_db_blocker.unblock():
        from backend.accounts.models import Role
        from tests.factories import StaffFactory

        with clinic_context(clinic):
            actor = StaffFactory(email="recep@cuota.pe", role=Role.RECEPTIONIST)
            desk = make_desk(clinic, actor)
            first = desk.book(lima(MONDAY, 10))
            second = desk.book(lima(MONDAY, 11))
            ids = [notifications_of(a)[0].pk for a in (first, second)]
            send_at = max(Notification.objects.get(pk=pk).send_at for pk in ids)
            MessageUsage.objects.create(month=_first_of_month(send_at), whatsapp=299)
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def work(pk: int) -> None:
            try:
                fresh = Clinic.objects.get(pk=clinic.pk)
                barrier.wait(timeout=20)
                with tenant_context(fresh):
                    delivery.notification_send(notification_id=pk, now=send_at)
            except BaseException as error:  # reported below
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=work, args=(pk,)) for pk in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        with clinic_context(clinic):
            statuses = sorted(
                Notification.objects.filter(pk__in=ids).values_list("status", flat=True)
            )
            usage = MessageUsage.objects.get(month=_first_of_month(send_at))
        assert statuses == ["HELD", "SENT"]
        assert usage.metered == 300

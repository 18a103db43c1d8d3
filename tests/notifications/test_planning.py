"""Planning: booking, rescheduling or cancelling plans, moves or cancels the appointment's
messages in the same transaction (real scheduling services, real PostgreSQL, real queue)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.notifications import delivery
from backend.notifications.models import (
    ContactPreference,
    MessagingSettings,
    Notification,
    NotificationRule,
)
from backend.scheduling.hooks import AppointmentEvent
from backend.scheduling.services import appointment_change_status, appointment_reschedule
from tenants_core.models import MessagingSender
from tests.dates import LIMA, MONDAY, lima
from tests.notifications.delivery_support import (  # noqa: F401 - the fixture
    desk_fixture,
    notifications_of,
    send_jobs,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def set_clock(monkeypatch, moment: dt.datetime) -> None:
    monkeypatch.setattr(delivery, "_now", lambda: moment)


def test_booking_plans_the_default_rules_with_quiet_hours_and_defers_their_jobs(desk):
    appointment = desk.book(lima(MONDAY, 10))

    rows = notifications_of(appointment)
    assert [(n.kind, n.channel, n.status) for n in rows] == [
        ("CONFIRMATION_REQUEST", "WHATSAPP", "SCHEDULED"),
        ("REMINDER", "WHATSAPP", "SCHEDULED"),
    ]
    # 48 h before: Saturday 10:00; 3 h before is 07:00, in quiet hours → 08:00.
    assert rows[0].send_at == lima(MONDAY - dt.timedelta(days=2), 10)
    assert rows[1].send_at == lima(MONDAY, 8)
    jobs = send_jobs([n.pk for n in rows])
    assert [(j["args"]["notification_id"], j["scheduled_at"]) for j in jobs] == [
        (rows[0].pk, rows[0].send_at),
        (rows[1].pk, rows[1].send_at),
    ]
    assert jobs[0]["args"]["clinic_schema"] == desk.clinic.schema_name
    assert jobs[0]["status"] == "todo"


def test_a_booking_that_rolls_back_leaves_no_message_and_no_job(desk):
    from django.db import transaction

    before = len(send_jobs())

    def book_then_fail() -> None:
        with transaction.atomic():
            desk.book(lima(MONDAY, 11))
            raise RuntimeError("the booking fails after planning")

    with pytest.raises(RuntimeError):
        book_then_fail()
    assert not Notification.objects.exists()
    assert len(send_jobs()) == before


@pytest.mark.parametrize(
    ("phone", "email", "preference", "senders", "backend", "expected"),
    [
        ("+51987654321", "a@b.pe", None, [], "outbox", "WHATSAPP"),
        ("", "a@b.pe", None, [], "outbox", "EMAIL"),
        ("+51987654321", "a@b.pe", {"whatsapp": False}, [], "outbox", "SMS"),
        ("+51987654321", "a@b.pe", {"whatsapp": False, "sms": False}, [], "outbox", "EMAIL"),
        # live providers: WhatsApp/SMS only where the clinic has a sender
        ("+51987654321", "a@b.pe", None, [], "live", "EMAIL"),
        ("+51987654321", "a@b.pe", None, ["SMS"], "live", "SMS"),
        ("+51987654321", "", None, ["WHATSAPP"], "live", "WHATSAPP"),
    ],
)
def test_the_first_channel_the_patient_can_receive_wins(
    desk, settings, phone, email, preference, senders, backend, expected
):
    settings.MESSAGING_BACKEND = backend
    for channel in senders:
        MessagingSender.objects.create(
            clinic=desk.clinic, channel=channel, external_id=f"{channel}-sender-x"
        )
    desk.patient.phone, desk.patient.email = phone, email
    desk.patient.save()
    if preference:
        ContactPreference.objects.create(patient=desk.patient, **preference)

    appointment = desk.book(lima(MONDAY, 10))

    assert {n.channel for n in notifications_of(appointment)} == {expected}


@pytest.mark.parametrize(
    "situation", ["opted_out", "no_contact", "live_without_email", "disabled", "rules_off"]
)
def test_nothing_is_planned_when_no_message_may_go(desk, settings, situation):
    if situation == "opted_out":
        ContactPreference.objects.create(
            patient=desk.patient, opted_out_at=dt.datetime.now(UTC), opt_out_source="WHATSAPP"
        )
    elif situation == "no_contact":
        desk.patient.phone = desk.patient.email = ""
        desk.patient.save()
    elif situation == "live_without_email":
        settings.MESSAGING_BACKEND = "live"  # no sender: only email, and no email
        desk.patient.email = ""
        desk.patient.save()
    elif situation == "disabled":
        MessagingSettings.objects.filter(pk=1).update(enabled=False)
    else:
        NotificationRule.objects.update(is_active=False)
    before = len(send_jobs())

    appointment = desk.book(lima(MONDAY, 10))

    assert notifications_of(appointment) == []
    assert len(send_jobs()) == before


def test_a_late_booking_sends_the_confirmation_now_and_drops_a_passed_reminder(desk, monkeypatch):
    now = lima(MONDAY - dt.timedelta(days=1), 15)  # Sunday 15:00
    set_clock(monkeypatch, now)
    appointment = desk.book(lima(MONDAY, 9))  # in 18 h: reminder at 06:00 → 08:00

    rows = notifications_of(appointment)
    assert [(n.kind, n.send_at) for n in rows] == [
        ("CONFIRMATION_REQUEST", now),
        ("REMINDER", lima(MONDAY, 8)),
    ]

    set_clock(monkeypatch, lima(MONDAY - dt.timedelta(days=1), 23))  # in quiet hours
    later = desk.book(lima(MONDAY, 12), patient=desk.patient)
    assert [(n.kind, n.send_at) for n in notifications_of(later)] == [
        ("CONFIRMATION_REQUEST", lima(MONDAY, 8)),  # the next allowed moment
        ("REMINDER", lima(MONDAY, 9)),
    ]


def test_nothing_is_planned_at_or_after_the_appointment_start(desk, monkeypatch):
    # 22:00 the day before an 08:30 appointment: the confirmation (due now) and the reminder
    # (05:30) both fall at 08:00, the end of the quiet hours, still before the start.
    set_clock(monkeypatch, lima(MONDAY - dt.timedelta(days=1), 22))
    early = desk.book(lima(MONDAY, 8, 30))
    assert [(n.kind, n.send_at) for n in notifications_of(early)] == [
        ("CONFIRMATION_REQUEST", lima(MONDAY, 8)),
        ("REMINDER", lima(MONDAY, 8)),
    ]
    # At 07:00 (quiet) for 07:15: 08:00 is after the start, the reminder (04:15) has passed:
    # nothing at all.
    set_clock(monkeypatch, lima(MONDAY, 7))
    at_dawn = desk.book(lima(MONDAY, 7, 15), minutes=30, patient=desk.patient)
    assert notifications_of(at_dawn) == []


def test_rescheduling_moves_pending_messages_and_the_old_job_finds_nothing_due(desk):
    appointment = desk.book(lima(MONDAY, 10))
    first = notifications_of(appointment)
    old_jobs = {j["id"] for j in send_jobs([n.pk for n in first])}

    appointment_reschedule(
        actor=desk.actor,
        appointment=appointment,
        starts_at=lima(MONDAY + dt.timedelta(days=1), 15),
        ends_at=lima(MONDAY + dt.timedelta(days=1), 15, 30),
    )

    moved = notifications_of(appointment)
    assert [n.pk for n in moved] == [n.pk for n in first]  # moved, not duplicated
    assert [n.send_at for n in moved] == [
        lima(MONDAY - dt.timedelta(days=1), 15),
        lima(MONDAY + dt.timedelta(days=1), 12),
    ]
    new_jobs = [j for j in send_jobs([n.pk for n in moved]) if j["id"] not in old_jobs]
    assert sorted((j["args"]["notification_id"], j["scheduled_at"]) for j in new_jobs) == sorted(
        (n.pk, n.send_at) for n in moved
    )
    # The old Saturday job runs on the Saturday: the row is not due, nothing happens.
    delivery.notification_send(notification_id=moved[1].pk, now=first[1].send_at)
    moved[1].refresh_from_db()
    assert (moved[1].status, moved[1].attempts) == ("SCHEDULED", 0)


def test_rescheduling_plans_missing_rules_and_cancels_those_no_longer_possible(desk, monkeypatch):
    set_clock(monkeypatch, lima(MONDAY - dt.timedelta(days=3), 10))
    appointment = desk.book(lima(MONDAY, 10))
    confirmation, reminder = notifications_of(appointment)
    reminder.delete()  # as if the reminder rule had been added after the booking

    set_clock(monkeypatch, lima(MONDAY, 9))
    appointment_reschedule(
        actor=desk.actor,
        appointment=appointment,
        starts_at=lima(MONDAY, 11),
        ends_at=lima(MONDAY, 11, 30),
        now=lima(MONDAY, 9),
    )
    rows = {n.kind: n for n in notifications_of(appointment)}
    # The confirmation's time (48 h before) has passed: it goes now; the reminder's (08:00)
    # has passed too: not planned again.
    assert rows["CONFIRMATION_REQUEST"].pk == confirmation.pk
    assert rows["CONFIRMATION_REQUEST"].send_at == lima(MONDAY, 9)
    assert "REMINDER" not in rows


def test_rescheduling_asks_again_for_messages_already_sent_for_the_old_time(desk, monkeypatch):
    set_clock(monkeypatch, lima(MONDAY - dt.timedelta(days=3), 10))
    appointment = desk.book(lima(MONDAY, 10))
    confirmation, reminder = notifications_of(appointment)
    # The confirmation request went out and was answered "yes"; the reminder failed.
    Notification.objects.filter(pk=confirmation.pk).update(
        status="READ", provider_message_id="wamid.OLD", sent_at=lima(MONDAY, 0), attempts=1
    )
    Notification.objects.filter(pk=reminder.pk).update(status="FAILED", failure_code="X")
    appointment_change_status(actor=desk.actor, appointment=appointment, status="CONFIRMED")

    appointment_reschedule(
        actor=desk.actor,
        appointment=appointment,
        starts_at=lima(MONDAY + dt.timedelta(days=2), 16),
        ends_at=lima(MONDAY + dt.timedelta(days=2), 16, 30),
        now=lima(MONDAY - dt.timedelta(days=3), 10),
    )

    rows = {n.kind: n for n in notifications_of(appointment)}
    assert len(notifications_of(appointment)) == 2  # the same rows, started over
    again = rows["CONFIRMATION_REQUEST"]
    assert again.pk == confirmation.pk
    assert (again.status, again.provider_message_id, again.sent_at, again.attempts) == (
        "SCHEDULED", "", None, 0,
    )  # fmt: skip
    assert again.send_at == lima(MONDAY, 16)  # 48 h before the new time
    assert (rows["REMINDER"].status, rows["REMINDER"].failure_code) == ("SCHEDULED", "")
    assert rows["REMINDER"].send_at == lima(MONDAY + dt.timedelta(days=2), 13)
    jobs = {(j["args"]["notification_id"], j["scheduled_at"]) for j in send_jobs([again.pk])}
    assert (again.pk, lima(MONDAY, 16)) in jobs  # a job for the new time


def test_rescheduling_leaves_a_message_being_sent_alone(desk, monkeypatch):
    set_clock(monkeypatch, lima(MONDAY - dt.timedelta(days=3), 10))
    appointment = desk.book(lima(MONDAY, 10))
    confirmation, _reminder = notifications_of(appointment)
    Notification.objects.filter(pk=confirmation.pk).update(status="SENDING", attempts=1)
    appointment_reschedule(
        actor=desk.actor,
        appointment=appointment,
        starts_at=lima(MONDAY, 15),
        ends_at=lima(MONDAY, 15, 30),
        now=lima(MONDAY - dt.timedelta(days=3), 10),
    )
    confirmation.refresh_from_db()
    assert (confirmation.status, confirmation.attempts) == ("SENDING", 1)
    assert len(notifications_of(appointment)) == 2


def test_cancelling_cancels_pending_messages_and_confirming_cancels_only_the_request(desk):
    kept = desk.book(lima(MONDAY, 10))
    appointment_change_status(actor=desk.actor, appointment=kept, status="CONFIRMED")
    assert {n.kind: n.status for n in notifications_of(kept)} == {
        "CONFIRMATION_REQUEST": "CANCELLED",
        "REMINDER": "SCHEDULED",
    }

    dropped = desk.book(lima(MONDAY, 15))
    sent = notifications_of(dropped)[0]
    Notification.objects.filter(pk=sent.pk).update(status="SENT")
    appointment_change_status(
        actor=desk.actor, appointment=dropped, status="CANCELLED", reason="Viaje"
    )
    assert [n.status for n in notifications_of(dropped)] == ["SENT", "CANCELLED"]


def test_planning_costs_the_same_statements_whatever_the_rules(desk):
    appointment = desk.book(lima(MONDAY, 10))
    Notification.objects.filter(appointment=appointment).delete()

    def statements() -> int:
        Notification.objects.filter(appointment=appointment).delete()
        with CaptureQueriesContext(connection) as queries:
            delivery.appointment_messages_plan(appointment, AppointmentEvent.SCHEDULED)
        return len(queries)

    two = statements()
    assert Notification.objects.filter(appointment=appointment).count() == 2
    for minutes in (24 * 60, 12 * 60, 6 * 60, 60):
        NotificationRule.objects.create(kind="REMINDER", minutes_before=minutes)
    six = statements()
    assert Notification.objects.filter(appointment=appointment).count() == 6
    assert six == two
    reschedule_two = len(send_jobs())
    with CaptureQueriesContext(connection) as queries:
        delivery.appointment_messages_plan(appointment, AppointmentEvent.RESCHEDULED)
    assert len(queries) <= two + 2  # + lock of the existing rows, + their update
    assert len(send_jobs()) == reschedule_two + 6


def test_planning_twice_leaves_one_message_per_rule_and_channel(desk):
    appointment = desk.book(lima(MONDAY, 10))
    delivery.appointment_messages_plan(appointment, AppointmentEvent.SCHEDULED)
    assert len(notifications_of(appointment)) == 2


@pytest.mark.parametrize(
    ("local_time", "start", "end", "expected"),
    [
        ((20, 59), (21, 0), (8, 0), None),  # just before: unchanged
        ((21, 0), (21, 0), (8, 0), (1, 8, 0)),  # at the start: next day's end
        ((23, 30), (21, 0), (8, 0), (1, 8, 0)),
        ((0, 10), (21, 0), (8, 0), (0, 8, 0)),  # after midnight: same day's end
        ((7, 59), (21, 0), (8, 0), (0, 8, 0)),
        ((8, 0), (21, 0), (8, 0), None),  # the end itself is allowed
        ((13, 0), (12, 0), (14, 0), (0, 14, 0)),  # a window that does not cross midnight
        ((14, 0), (12, 0), (14, 0), None),
    ],
)
def test_quiet_hours(local_time, start, end, expected):
    day = MONDAY
    moment = dt.datetime.combine(day, dt.time(*local_time), tzinfo=LIMA)
    result = delivery.quiet_hours_apply(moment, dt.time(*start), dt.time(*end), LIMA)
    if expected is None:
        assert result == moment
    else:
        days, hour, minute = expected
        assert result == lima(day + dt.timedelta(days=days), hour, minute)
        assert result.utcoffset() == dt.timedelta(0)  # stored in UTC


def test_quiet_hours_follow_the_clinic_zone_across_a_dst_change():
    from tests.dates import SANTIAGO, next_offset_change

    change = next_offset_change(SANTIAGO, forward=True)
    eve = dt.datetime.combine(change.day - dt.timedelta(days=1), dt.time(22), tzinfo=SANTIAGO)
    result = delivery.quiet_hours_apply(eve, dt.time(21), dt.time(8), SANTIAGO)
    assert result == dt.datetime.combine(change.day, dt.time(8), tzinfo=SANTIAGO)
    assert result.utcoffset() == dt.timedelta(0)
    assert result.astimezone(SANTIAGO).hour == 8

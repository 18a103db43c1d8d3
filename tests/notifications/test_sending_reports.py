"""Delivery reports from providers: SENT → DELIVERED → READ, FAILED with its reason; never
backwards; an id that is not ours is None."""

from __future__ import annotations

import datetime as dt

import pytest

from backend.notifications.delivery import notification_status_record
from backend.notifications.models import Notification
from tests.dates import MONDAY, lima
from tests.notifications.delivery_support import (  # noqa: F401 - the fixture
    desk_fixture,
    notifications_of,
    send_jobs,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(desk):
    appointment = desk.book(lima(MONDAY, 10))
    note = notifications_of(appointment)[0]
    Notification.objects.filter(pk=note.pk).update(
        status="SENT", provider_message_id="wamid.abc", sent_at=note.send_at
    )
    return note


def record(status: str, **extra) -> Notification | None:
    return notification_status_record(
        channel="WHATSAPP", provider_message_id="wamid.abc", status=status, **extra
    )


def test_reports_move_forward_and_never_back(sent):
    delivered_at = lima(MONDAY, 9)
    assert record("delivered", at=delivered_at).status == "DELIVERED"
    assert record("read", at=delivered_at + dt.timedelta(minutes=5)).status == "READ"
    for late in ("delivered", "sent", "failed"):
        assert record(late).status == "READ"
    sent.refresh_from_db()
    assert (sent.status, sent.delivered_at, sent.read_at) == (
        "READ", delivered_at, delivered_at + dt.timedelta(minutes=5),
    )  # fmt: skip
    assert sent.failure_code == ""


def test_a_read_report_first_also_sets_delivered(sent):
    assert record("READ").status == "READ"
    sent.refresh_from_db()
    assert sent.delivered_at is not None


def test_a_failure_report_keeps_its_reason(sent):
    result = record("failed", error_code="131047", error_reason="Re-engagement message")
    assert result is not None
    sent.refresh_from_db()
    assert (sent.status, sent.failure_code, sent.failure_reason) == (
        "FAILED", "131047", "Re-engagement message",
    )  # fmt: skip
    assert record("delivered").status == "FAILED"


def test_a_failure_reported_later_falls_back_to_the_next_channel(sent):
    jobs_before = len(send_jobs())
    record("failed", error_code="131026", error_reason="Message undeliverable")
    fallback = Notification.objects.get(appointment=sent.appointment, rule=sent.rule, channel="SMS")
    assert fallback.status == "SCHEDULED"
    assert [j["args"]["notification_id"] for j in send_jobs()[jobs_before:]] == [fallback.pk]
    record("failed", error_code="131026")  # the same report again: no second fallback
    assert Notification.objects.filter(appointment=sent.appointment, rule=sent.rule).count() == 2


def test_an_unknown_id_or_another_channel_is_none(sent):
    assert (
        notification_status_record(
            channel="WHATSAPP", provider_message_id="wamid.other", status="delivered"
        )
        is None
    )
    assert (
        notification_status_record(
            channel="SMS", provider_message_id="wamid.abc", status="delivered"
        )
        is None
    )
    assert (
        notification_status_record(channel="WHATSAPP", provider_message_id="", status="delivered")
        is None
    )
    sent.refresh_from_db()
    assert sent.status == "SENT"

"""Bookings and deadlocks, for real.

- a real deadlock: a second connection inserts rows so that the API's booking and it wait
  for each other inside the exclusion check; PostgreSQL aborts the booking (``40P01``), which
  runs again and commits;
- a booking (or a reschedule) that meets a concurrent booking of its professional or chair
  waits on that resource's row before it inserts: that is what keeps two bookings out of the
  deadlock.
"""

from __future__ import annotations

import contextlib
import threading

import pytest
from django.db import DatabaseError, connection, transaction

from backend.audit.models import AuditEvent
from backend.core.tenancy import clinic_context, schema_transaction
from backend.scheduling import services as scheduling
from backend.scheduling.models import Appointment
from tests.deadlocks.support import (
    DAY,
    Data,
    booking,
    exclusion_index_order,
    gid,
    in_thread,
    post,
    waiting_statement,
)
from tests.scheduling.conftest import SCHEDULE, lima

# --- a real deadlock ------------------------------------------------------------------------


def test_a_real_deadlock_while_booking_is_run_again_not_a_503(db_open, data, caplog):
    """Another transaction (raw inserts, no locks) and the API's booking each wait for the
    other's row inside the exclusion check. PostgreSQL aborts the booking; the booking runs
    again, in the clinic's schema, and once the other transaction rolls back it commits."""
    (p1, p2), (c1, c2) = data.professionals, data.chairs
    first, second = exclusion_index_order(data)
    # The API books (p1, c1). The other transaction's first row shares only the resource the
    # booking checks second (so the booking inserts, passes its first check and waits), its
    # second row only the resource checked first (so it waits for the booking's row).
    shares = {"professional_id": (p1, c2), "chair_id": (p2, c1)}
    r1, r2 = shares[second], shares[first]
    r1_inserted, go_r2, r2_inserted, finish = (threading.Event() for _ in range(4))
    other_pid: list[int] = []

    def other_transaction() -> None:
        try:
            with transaction.atomic(), schema_transaction(data.clinic.schema_name):
                # Make sure the booking is the victim, whatever the timing (superuser only).
                with (
                    contextlib.suppress(DatabaseError),
                    transaction.atomic(),
                    connection.cursor() as cursor,
                ):
                    cursor.execute("SET LOCAL deadlock_timeout = '30s'")
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    other_pid.append(cursor.fetchone()[0])
                for (professional, chair), done, then in (
                    (r1, r1_inserted, go_r2),
                    (r2, r2_inserted, finish),
                ):
                    Appointment.objects.create(
                        patient=data.patient, professional=professional, chair=chair,
                        starts_at=lima(DAY, 10), ends_at=lima(DAY, 10, 30),
                    )  # fmt: skip
                    done.set()
                    assert then.wait(30)
                transaction.set_rollback(True)
        finally:
            connection.close()

    other = in_thread(other_transaction)
    assert r1_inserted.wait(10)
    api = in_thread(lambda: post(data, SCHEDULE, booking(data, p1, c1)))
    assert "scheduling_appointment" in waiting_statement(exclude_pid=other_pid[0])
    go_r2.set()
    assert r2_inserted.wait(30), "the other transaction was not let through"
    finish.set()  # it rolls back: the booking, run again, gets the slot
    other.result(timeout=30)
    status, body = api.result(timeout=30)

    assert status == 200, body
    assert body["data"]["scheduleAppointment"]["__typename"] == "Appointment", body
    assert "SQLSTATE 40P01" in caplog.text  # the first run was the deadlock's victim
    with schema_transaction(data.clinic.schema_name):
        booked = Appointment.objects.get()
        assert (booked.professional_id, booked.chair_id) == (p1.pk, c1.pk)
        assert AuditEvent.objects.filter(action="appointment.schedule").count() == 1


# --- the lock order: conflicting bookings wait before they insert ---------------------------


def hold_a_booking(
    data: Data, professional, chair, booked: threading.Event, release: threading.Event
):
    """A booking through the service, kept open until ``release``: another request of the
    same moment."""

    def run() -> int:
        try:
            with transaction.atomic(), clinic_context(data.clinic):
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    pid = cursor.fetchone()[0]
                scheduling.appointment_schedule(
                    actor=data.admin, patient=data.patient, professional=professional,
                    chair=chair, starts_at=lima(DAY, 10), ends_at=lima(DAY, 10, 30),
                )  # fmt: skip
                booked.set()
                assert release.wait(30)
            return pid
        finally:
            connection.close()

    return run


@pytest.mark.parametrize("shared", ["professional", "chair"])
def test_a_booking_waits_for_a_concurrent_booking_of_its_resource_before_inserting(
    db_open, data, shared
):
    """Two bookings insert at the same moment only if neither waits for the other first; then
    each can find the other's row in the exclusion check and wait for it: the deadlock. A
    booking takes its professional's and chair's locks first, so it waits there instead."""
    (p1, p2), (c1, c2) = data.professionals, data.chairs
    other = {"professional": (p1, c2), "chair": (p2, c1)}[shared]
    booked, release = threading.Event(), threading.Event()
    held = in_thread(hold_a_booking(data, p1, c1, booked, release))
    assert booked.wait(10)
    pid_of_holder = -1  # the holder never waits; excluding nobody else is enough
    api = in_thread(lambda: post(data, SCHEDULE, booking(data, *other)))
    try:
        statement = waiting_statement(exclude_pid=pid_of_holder)
    finally:
        release.set()
    held.result(timeout=30)
    status, body = api.result(timeout=30)

    assert "FOR NO KEY UPDATE" in statement, statement
    assert f"staff_{shared}" in statement, statement
    assert not statement.lstrip().upper().startswith("INSERT"), statement
    assert status == 200
    payload = body["data"]["scheduleAppointment"]
    assert [m["code"] for m in payload["messages"]] == ["APPOINTMENT_OVERLAP"], payload
    with schema_transaction(data.clinic.schema_name):
        assert Appointment.objects.count() == 1


def test_a_reschedule_waits_for_a_concurrent_booking_before_updating(db_open, data):
    (p1, p2), (c1, c2) = data.professionals, data.chairs
    with clinic_context(data.clinic):
        moved = scheduling.appointment_schedule(
            actor=data.admin, patient=data.patient, professional=p2, chair=c2,
            starts_at=lima(DAY, 15), ends_at=lima(DAY, 15, 30),
        )  # fmt: skip
    connection.set_schema_to_public()
    booked, release = threading.Event(), threading.Event()
    held = in_thread(hold_a_booking(data, p1, c1, booked, release))
    assert booked.wait(10)
    reschedule = (
        "mutation($id: ID!, $input: RescheduleAppointmentInput!) { rescheduleAppointment("
        "id: $id, input: $input) { __typename ... on OperationInfo { messages { code } } } }"
    )
    variables = {
        "id": gid(moved, data.clinic),
        "input": {
            "startsAt": lima(DAY, 10).isoformat(),
            "endsAt": lima(DAY, 10, 30).isoformat(),
            "professionalId": gid(p1, data.clinic),
        },
    }
    api = in_thread(lambda: post(data, reschedule, variables))
    try:
        statement = waiting_statement(exclude_pid=-1)
    finally:
        release.set()
    held.result(timeout=30)
    status, body = api.result(timeout=30)

    assert "FOR NO KEY UPDATE" in statement, statement
    assert "staff_professional" in statement, statement
    assert status == 200
    payload = body["data"]["rescheduleAppointment"]
    assert [m["code"] for m in payload["messages"]] == ["APPOINTMENT_OVERLAP"], payload
    with schema_transaction(data.clinic.schema_name):
        assert Appointment.objects.get(pk=moved.pk).starts_at == lima(DAY, 15)

"""The agenda's locks under real races: the appointment's row (reschedule, status changes)
and the professionals' and chairs' rows (``_lock_resources``, issue 12).

README: statuses move ``SCHEDULED → CONFIRMED → CHECKED_IN → IN_PROGRESS → COMPLETED`` (or
``CANCELLED`` / ``NO_SHOW``), anything else is ``INVALID_TRANSITION``; a deactivated
professional or chair takes no new bookings (``INACTIVE_RESOURCE``); two active appointments
never overlap for one professional or chair (``APPOINTMENT_OVERLAP``). The module docstring
of ``backend/scheduling/services.py`` gives the lock order: the appointment, then its
professionals, then its chairs, before any row is written, so that two writes never wait
for each other inside the exclusion check.
"""

from __future__ import annotations

import pytest

from backend.scheduling import services as scheduling
from backend.scheduling.models import Appointment, AppointmentStatus
from tests.locks.support import api, codes, gid, payload, race

SCHEDULE = """mutation($input: ScheduleAppointmentInput!) { scheduleAppointment(input: $input) {
    __typename ... on OperationInfo { messages { code message } } } }"""
RESCHEDULE = """mutation($id: ID!, $input: RescheduleAppointmentInput!) {
  rescheduleAppointment(id: $id, input: $input) {
    __typename ... on OperationInfo { messages { code message } } } }"""
CANCEL = """mutation($id: ID!) { cancelAppointment(id: $id, reason: "El paciente avisó") {
    __typename ... on OperationInfo { messages { code message } } } }"""
STATUS = """mutation($id: ID!, $status: AppointmentStatus!) {
  changeAppointmentStatus(id: $id, status: $status) {
    __typename ... on OperationInfo { messages { code message } } } }"""
DEACTIVATE = {
    "professional": """mutation($id: ID!) { deactivateProfessional(id: $id) {
        __typename ... on OperationInfo { messages { code message } } } }""",
    "chair": """mutation($id: ID!) { deactivateChair(id: $id) {
        __typename ... on OperationInfo { messages { code message } } } }""",
}


def book(place, patient, professional, chair, hour: int) -> Appointment:
    """A committed booking, a week from today at ``hour``:00–``hour``:30."""
    with place.inside():
        return scheduling.appointment_schedule(
            actor=place.admin, patient=patient, professional=professional, chair=chair,
            starts_at=place.at(7, hour), ends_at=place.at(7, hour, 30),
        )  # fmt: skip


def slot(place, hour: int, **resources) -> dict:
    times = {
        "startsAt": place.at(7, hour).isoformat(),
        "endsAt": place.at(7, hour, 30).isoformat(),
    }
    return {**times, **{f"{name}Id": gid(obj) for name, obj in resources.items()}}


def send(place, query, **variables):
    return api(place.host, place.token, query, variables)


def reload(place, appointment: Appointment) -> Appointment:
    with place.inside():
        return Appointment.objects.get(pk=appointment.pk)


@pytest.mark.parametrize("resource", ["professional", "chair"])
def test_a_booking_racing_the_deactivation_of_its_resource_is_refused(committed, resource):
    """A professional (or chair) is deactivated while a booking with them comes in: the
    deactivation goes first, so the booking is refused with ``INACTIVE_RESOURCE`` and nothing
    is booked.

    Checked: without ``select_for_update`` on the professionals (resp. chairs) in
    ``_lock_resources`` the booking reads the resource as active, inserts (its foreign key
    only waits for the deactivation to commit) and is booked with an inactive resource.
    """
    place = committed
    professional, chair, patient = place.professional(), place.chair(), place.patient()
    target = {"professional": professional, "chair": chair}[resource]

    result = race(
        place.schema,
        f"{resource}.deactivate",
        send(place, DEACTIVATE[resource], id=gid(target)),
        send(
            place,
            SCHEDULE,
            input={
                "patientId": gid(patient),
                **slot(place, 10, professional=professional, chair=chair),
            },
        ),
    )

    field = {"professional": "deactivateProfessional", "chair": "deactivateChair"}[resource]
    assert codes(result.first, field) == []
    assert codes(result.second, "scheduleAppointment") == ["INACTIVE_RESOURCE"]
    with place.inside():
        assert not Appointment.objects.filter(patient=patient).exists()


def test_a_reschedule_racing_a_cancellation_does_not_bring_it_back(committed):
    """An appointment is cancelled while it is being rescheduled: the cancellation goes
    first, so the reschedule is refused (``INVALID_TRANSITION``: a cancelled appointment
    cannot be rescheduled) and the appointment stays cancelled, at its time.

    Checked: without ``select_for_update`` on the appointment in ``appointment_reschedule``
    the reschedule reads it as scheduled, its update waits for the cancellation and then
    overwrites it: the cancelled appointment is ``SCHEDULED`` again, at the new time.
    """
    place = committed
    professional, chair, patient = place.professional(), place.chair(), place.patient()
    booked = book(place, patient, professional, chair, 9)

    result = race(
        place.schema,
        "appointment.change_status",
        send(place, CANCEL, id=gid(booked)),
        send(place, RESCHEDULE, id=gid(booked), input=slot(place, 15)),
    )

    assert codes(result.first, "cancelAppointment") == []
    assert codes(result.second, "rescheduleAppointment") == ["INVALID_TRANSITION"]
    after = reload(place, booked)
    assert (after.status, after.starts_at) == (AppointmentStatus.CANCELLED, place.at(7, 9))


def test_a_status_change_racing_a_cancellation_is_refused(committed):
    """A patient is checked in while the appointment is being cancelled: the cancellation
    goes first, so the check-in is refused (``INVALID_TRANSITION``, ``CANCELLED`` is final).

    Checked: without ``select_for_update`` on the appointment in
    ``appointment_change_status`` the check-in reads it as scheduled and its update
    overwrites the cancellation: ``CANCELLED → CHECKED_IN``, a move the lifecycle forbids.
    """
    place = committed
    professional, chair, patient = place.professional(), place.chair(), place.patient()
    booked = book(place, patient, professional, chair, 11)

    result = race(
        place.schema,
        "appointment.change_status",
        send(place, CANCEL, id=gid(booked)),
        send(place, STATUS, id=gid(booked), status="CHECKED_IN"),
    )

    assert codes(result.first, "cancelAppointment") == []
    assert codes(result.second, "changeAppointmentStatus") == ["INVALID_TRANSITION"]
    assert reload(place, booked).status == AppointmentStatus.CANCELLED


def test_a_booking_of_the_slot_a_reschedule_is_freeing_waits_for_it_and_gets_it(committed):
    """An appointment is being moved to another professional, chair and time; a booking of
    the slot it leaves arrives meanwhile. The booking waits for the reschedule (which holds
    the old professional and chair until it commits) and then gets the freed slot.

    Checked: without the old professional and chair in the reschedule's
    ``_lock_resources`` call the booking does not wait: it still sees the appointment in the
    slot and is refused with ``APPOINTMENT_OVERLAP``, a moment before the slot is free.
    """
    place = committed
    (p1, p2), (c1, c2) = (
        (place.professional(), place.professional()),
        (place.chair(), place.chair()),
    )
    moving, arriving = place.patient(), place.patient()
    booked = book(place, moving, p1, c1, 10)

    result = race(
        place.schema,
        "appointment.reschedule",
        send(place, RESCHEDULE, id=gid(booked), input=slot(place, 14, professional=p2, chair=c2)),
        send(
            place,
            SCHEDULE,
            input={"patientId": gid(arriving), **slot(place, 10, professional=p1, chair=c1)},
        ),
    )

    assert codes(result.first, "rescheduleAppointment") == []
    assert codes(result.second, "scheduleAppointment") == []
    assert result.second_waited
    with place.inside():
        taken = Appointment.objects.get(patient=arriving)
        assert (taken.professional_id, taken.chair_id, taken.starts_at) == (
            p1.pk, c1.pk, place.at(7, 10),
        )  # fmt: skip
    assert (reload(place, booked).professional_id, reload(place, booked).starts_at) == (
        p2.pk, place.at(7, 14),
    )  # fmt: skip


def test_two_reschedules_into_one_slot_give_it_to_one_and_wait_before_writing(committed):
    """Two appointments of other professionals are moved into the same slot of one
    professional at once: the first gets it; the second is refused with
    ``APPOINTMENT_OVERLAP`` and stays where it was. The second waits for the first on the
    professional's row (``SELECT … FOR NO KEY UPDATE``), before it writes anything: the lock
    order that keeps two writers out of a deadlock inside the exclusion check.

    Checked: without the new professional and chair in the reschedule's ``_lock_resources``
    call (only the old ones locked) the refusal is the same, the exclusion constraint's, but
    the second reschedule waits inside its ``UPDATE`` of the appointment: the order that can
    deadlock.
    """
    place = committed
    target = place.professional()
    first = book(place, place.patient(), place.professional(), place.chair(), 9)
    second = book(place, place.patient(), place.professional(), place.chair(), 12)
    chairs = place.chair(), place.chair()

    result = race(
        place.schema,
        "appointment.reschedule",
        send(
            place, RESCHEDULE, id=gid(first),
            input=slot(place, 16, professional=target, chair=chairs[0]),
        ),
        send(
            place, RESCHEDULE, id=gid(second),
            input=slot(place, 16, professional=target, chair=chairs[1]),
        ),
    )  # fmt: skip

    assert codes(result.first, "rescheduleAppointment") == []
    assert codes(result.second, "rescheduleAppointment") == ["APPOINTMENT_OVERLAP"]
    assert result.second_waited
    assert "FOR NO KEY UPDATE" in result.waiting_statement, result.waiting_statement
    assert "staff_professional" in result.waiting_statement, result.waiting_statement
    assert (reload(place, first).professional_id, reload(place, first).starts_at) == (
        target.pk, place.at(7, 16),
    )  # fmt: skip
    assert reload(place, second).starts_at == place.at(7, 12)


def test_a_status_change_waits_for_a_booking_of_its_professional_before_writing(committed):
    """A status change rewrites the appointment's row, which the exclusion constraints check
    again; so it takes its professional's and chair's rows first, like a booking. Confirming
    an appointment while the same professional's next booking is in flight waits for that
    booking on the professional's row, then confirms.

    Checked: without the ``_lock_resources`` call in ``appointment_change_status`` the
    confirmation does not wait: it updates the row at once, the order that can deadlock
    with a booking inside the exclusion check.
    """
    place = committed
    professional, chair = place.professional(), place.chair()
    booked = book(place, place.patient(), professional, chair, 8)
    other = place.patient()

    result = race(
        place.schema,
        "appointment.schedule",
        send(
            place, SCHEDULE,
            input={"patientId": gid(other), **slot(place, 13, professional=professional, chair=place.chair())},
        ),
        send(place, STATUS, id=gid(booked), status="CONFIRMED"),
    )  # fmt: skip

    assert payload(result.first, "scheduleAppointment")["__typename"] == "Appointment"
    assert codes(result.second, "changeAppointmentStatus") == []
    assert result.second_waited
    assert "staff_professional" in result.waiting_statement, result.waiting_statement
    assert reload(place, booked).status == AppointmentStatus.CONFIRMED


ADD_CLOSURE = """mutation($input: ClinicClosureInput!) { addClinicClosure(input: $input) {
    __typename ... on OperationInfo { messages { code message } } } }"""


def test_a_booking_racing_a_closure_of_its_day_is_refused(committed):
    """The clinic closes a day while a booking on that day comes in: the closure goes first,
    so the booking waits for it and is refused (``CLINIC_CLOSED``); nothing is booked.

    Checked: without the calendar's share lock in ``_check_slot`` (and the profile's row
    lock in ``clinic_closure_add``) the booking reads the calendar before the closure commits
    and is booked on the closed day.
    """
    from backend.clinic_admin.models import ClinicClosure

    place = committed
    professional, chair, patient = place.professional(), place.chair(), place.patient()
    day = place.at(9, 10).date()  # place.at is in the clinic's zone
    times = {"startsAt": place.at(9, 10).isoformat(), "endsAt": place.at(9, 10, 30).isoformat()}
    try:
        result = race(
            place.schema,
            "clinic.add_closure",
            send(
                place, ADD_CLOSURE, input={"startsOn": day.isoformat(), "endsOn": day.isoformat()}
            ),
            send(
                place,
                SCHEDULE,
                input={
                    "patientId": gid(patient),
                    "professionalId": gid(professional),
                    "chairId": gid(chair),
                    **times,
                },
            ),
        )
        assert result.second_waited, result.waiting_statement
        assert "FOR SHARE" in result.waiting_statement
        assert codes(result.first, "addClinicClosure") == []
        assert codes(result.second, "scheduleAppointment") == ["CLINIC_CLOSED"]
        with place.inside():
            assert not Appointment.objects.filter(patient=patient).exists()
    finally:
        with place.inside():
            ClinicClosure.objects.filter(starts_on=day).delete()

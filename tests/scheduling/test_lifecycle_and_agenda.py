"""Status lifecycle, rescheduling, the agenda query and free slots (with a DST change)."""

import datetime as dt

import pytest
from django_tenants.utils import tenant_context

from backend.audit.models import AuditEvent
from backend.resources.models import WorkingHours
from backend.scheduling.models import Appointment, AppointmentStatus
from tenants_core.models import Clinic
from tests.conftest import graphql
from tests.dates import SANTIAGO, local, next_offset_change, offset_text
from tests.ids import global_id
from tests.scheduling.conftest import MONDAY, lima

pytestmark = pytest.mark.django_db

CHANGE = """
mutation($id: ID!, $status: AppointmentStatus!, $reason: String! = "") {
  changeAppointmentStatus(id: $id, status: $status, reason: $reason) {
    __typename
    ... on Appointment { status cancellationReason }
    ... on OperationInfo { messages { code field message } }
  }
}
"""
RESCHEDULE = """
mutation($id: ID!, $input: RescheduleAppointmentInput!) {
  rescheduleAppointment(id: $id, input: $input) {
    __typename
    ... on Appointment { startsAt status }
    ... on OperationInfo { messages { code field } }
  }
}
"""
AGENDA = """
query($from: DateTime, $to: DateTime, $professionalId: ID, $status: [AppointmentStatus!], $first: Int) {
  appointments(from: $from, to: $to, professionalId: $professionalId, status: $status, first: $first) {
    totalCount
    edges { node { id startsAt status patient { fullName hasAlerts } professional { fullName } chair { name } } }
  }
}
"""
AVAILABILITY = """
query($p: ID!, $date: Date!, $minutes: Int!, $chair: ID) {
  availability(professionalId: $p, date: $date, durationMinutes: $minutes, chairId: $chair) { startsAt endsAt }
}
"""


def make(clinic, agenda, start, end, status=AppointmentStatus.SCHEDULED, **kwargs):
    with tenant_context(clinic):
        return Appointment.objects.create(
            patient=kwargs.get("patient", agenda.patient), professional=kwargs.get("professional", agenda.professional),
            chair=kwargs.get("chair", agenda.chair), starts_at=start, ends_at=end, status=status,
        )  # fmt: skip


def gid(appointment):
    return global_id("Appointment", appointment.pk)


# The appointment lifecycle as the README states it, written here by hand: never read from
# backend.scheduling.services. Whoever changes a move changes this table, on purpose, in the
# same commit. SCHEDULED → CONFIRMED → CHECKED_IN → IN_PROGRESS → COMPLETED, or CANCELLED /
# NO_SHOW; "a patient may arrive without having confirmed" (SCHEDULED → CHECKED_IN). A visit
# can be cancelled until it starts (a checked-in patient may leave) and be a no-show only
# before the patient arrives. COMPLETED, CANCELLED and NO_SHOW are final: nothing leaves them.
APPOINTMENT_MOVES = {
    "SCHEDULED": {"CONFIRMED", "CHECKED_IN", "CANCELLED", "NO_SHOW"},
    "CONFIRMED": {"CHECKED_IN", "CANCELLED", "NO_SHOW"},
    "CHECKED_IN": {"IN_PROGRESS", "CANCELLED"},
    "IN_PROGRESS": {"COMPLETED"},
    "COMPLETED": set(),
    "CANCELLED": set(),
    "NO_SHOW": set(),
}
# Moving an appointment to another time: only before it is checked in, and it needs confirming
# again (back to SCHEDULED).
RESCHEDULABLE = {"SCHEDULED", "CONFIRMED"}
PAIRS = [(source, target) for source in APPOINTMENT_MOVES for target in APPOINTMENT_MOVES]


def test_the_spec_table_names_every_status_the_api_has():
    """A status added to the code but not to the table above would go untested."""
    assert set(APPOINTMENT_MOVES) == {status.value for status in AppointmentStatus}


def _stored(clinic, appointment):
    with tenant_context(clinic):
        row = Appointment.objects.get(pk=appointment.pk)
        trail = AuditEvent.objects.filter(
            entity_type="scheduling.appointment", entity_id=str(appointment.pk)
        ).count()
    return row, trail


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{s}->{t}" for s, t in PAIRS])
def test_every_status_change_is_allowed_or_refused_as_the_spec_table_says(
    client, clinic1, agenda, source, target
):
    """Mutation checks (issue 22): adding CANCELLED → SCHEDULED or COMPLETED → SCHEDULED to
    ``services.TRANSITIONS`` turns those pairs red; removing SCHEDULED → CHECKED_IN turns
    ``SCHEDULED->CHECKED_IN`` red."""
    appointment = make(clinic1, agenda, lima(MONDAY, 10), lima(MONDAY, 11), status=source)
    before, _ = _stored(clinic1, appointment)
    _, body = graphql(
        client, CHANGE, host="clinica1.localhost", token=agenda.token,
        variables={"id": gid(appointment), "status": target, "reason": "Motivo"},
    )  # fmt: skip
    payload = body["data"]["changeAppointmentStatus"]
    after, trail = _stored(clinic1, appointment)
    if target in APPOINTMENT_MOVES[source]:
        assert payload == {
            "__typename": "Appointment",
            "status": target,
            "cancellationReason": "Motivo" if target == "CANCELLED" else "",
        }
        assert after.status == target
        assert after.cancellation_reason == ("Motivo" if target == "CANCELLED" else "")
        assert trail == 1  # appointment.change_status
    else:
        assert payload["__typename"] == "OperationInfo"
        assert [(m["field"], m["code"]) for m in payload["messages"]] == [
            ("status", "INVALID_TRANSITION")
        ]
        assert (after.status, after.updated_at, after.cancellation_reason) == (
            source,
            before.updated_at,
            "",
        )
        assert trail == 0


@pytest.mark.parametrize("source", list(APPOINTMENT_MOVES))
def test_only_a_scheduled_or_confirmed_appointment_can_be_rescheduled(
    client, clinic1, agenda, source
):
    """Mutation check: adding COMPLETED (or any final status) to ``RESCHEDULABLE`` in the
    services turns its case red."""
    appointment = make(clinic1, agenda, lima(MONDAY, 10), lima(MONDAY, 11), status=source)
    variables = {
        "id": gid(appointment),
        "input": {"startsAt": lima(MONDAY, 15).isoformat(), "endsAt": lima(MONDAY, 16).isoformat()},
    }
    _, body = graphql(
        client, RESCHEDULE, host="clinica1.localhost", token=agenda.token, variables=variables
    )
    payload = body["data"]["rescheduleAppointment"]
    after, trail = _stored(clinic1, appointment)
    if source in RESCHEDULABLE:
        assert payload == {
            "__typename": "Appointment",
            "startsAt": lima(MONDAY, 15).isoformat(),
            "status": "SCHEDULED",
        }
        assert (after.starts_at, after.status, trail) == (lima(MONDAY, 15), "SCHEDULED", 1)
    else:
        assert payload == {
            "__typename": "OperationInfo",
            "messages": [{"code": "INVALID_TRANSITION", "field": None}],
        }
        assert (after.starts_at, after.status, trail) == (lima(MONDAY, 10), source, 0)


def test_the_happy_path_of_a_visit(client, clinic1, agenda):
    appointment = make(clinic1, agenda, lima(MONDAY, 10), lima(MONDAY, 11))
    for status in ["CONFIRMED", "CHECKED_IN", "IN_PROGRESS", "COMPLETED"]:
        _, body = graphql(
            client,
            CHANGE,
            host="clinica1.localhost",
            token=agenda.token,
            variables={"id": gid(appointment), "status": status},
        )
        assert body["data"]["changeAppointmentStatus"]["status"] == status


def test_cancelling_needs_a_reason(client, clinic1, agenda):
    appointment = make(clinic1, agenda, lima(MONDAY, 10), lima(MONDAY, 11))
    _, body = graphql(
        client,
        CHANGE,
        host="clinica1.localhost",
        token=agenda.token,
        variables={"id": gid(appointment), "status": "CANCELLED"},
    )
    assert [m["code"] for m in body["data"]["changeAppointmentStatus"]["messages"]] == [
        "REASON_REQUIRED"
    ]


def test_a_dentist_changes_the_status_of_their_own_appointment(
    client, clinic1, agenda, make_staff, token_for
):
    from backend.accounts.models import Role

    dentist = make_staff(clinic1, Role.DENTIST)
    with tenant_context(clinic1):
        agenda.professional.user = dentist
        agenda.professional.save()
    appointment = make(clinic1, agenda, lima(MONDAY, 10), lima(MONDAY, 11))
    _, body = graphql(
        client,
        CHANGE,
        host="clinica1.localhost",
        token=token_for(clinic1, dentist),
        variables={"id": gid(appointment), "status": "CONFIRMED"},
    )
    assert body["data"]["changeAppointmentStatus"]["status"] == "CONFIRMED"


def test_reschedule_moves_and_asks_for_confirmation_again(client, clinic1, agenda):
    appointment = make(
        clinic1, agenda, lima(MONDAY, 10), lima(MONDAY, 11), status=AppointmentStatus.CONFIRMED
    )
    make(clinic1, agenda, lima(MONDAY, 15), lima(MONDAY, 16), patient=agenda.other_patient)
    variables = {
        "id": gid(appointment),
        "input": {
            "startsAt": lima(MONDAY, 15, 30).isoformat(),
            "endsAt": lima(MONDAY, 16, 30).isoformat(),
        },
    }
    _, body = graphql(
        client, RESCHEDULE, host="clinica1.localhost", token=agenda.token, variables=variables
    )
    assert [m["code"] for m in body["data"]["rescheduleAppointment"]["messages"]] == [
        "APPOINTMENT_OVERLAP"
    ]

    variables["input"] = {
        "startsAt": lima(MONDAY, 16).isoformat(),
        "endsAt": lima(MONDAY, 17).isoformat(),
    }
    _, body = graphql(
        client, RESCHEDULE, host="clinica1.localhost", token=agenda.token, variables=variables
    )
    assert body["data"]["rescheduleAppointment"] == {
        "__typename": "Appointment",
        "startsAt": lima(MONDAY, 16).isoformat(),
        "status": "SCHEDULED",
    }


def test_an_appointment_can_move_within_its_own_slot(client, clinic1, agenda):
    appointment = make(clinic1, agenda, lima(MONDAY, 10), lima(MONDAY, 11))
    variables = {
        "id": gid(appointment),
        "input": {
            "startsAt": lima(MONDAY, 10, 30).isoformat(),
            "endsAt": lima(MONDAY, 11, 30).isoformat(),
        },
    }
    _, body = graphql(
        client, RESCHEDULE, host="clinica1.localhost", token=agenda.token, variables=variables
    )
    assert body["data"]["rescheduleAppointment"]["__typename"] == "Appointment"


def test_the_agenda_filters_by_day_professional_and_status(client, clinic1, agenda):
    make(clinic1, agenda, lima(MONDAY, 10), lima(MONDAY, 11))
    make(clinic1, agenda, lima(MONDAY, 11), lima(MONDAY, 12), status=AppointmentStatus.CANCELLED)
    make(
        clinic1,
        agenda,
        lima(MONDAY, 10),
        lima(MONDAY, 11),
        professional=agenda.other_professional,
        chair=agenda.other_chair,
    )
    make(
        clinic1,
        agenda,
        lima(MONDAY + dt.timedelta(days=1), 10),
        lima(MONDAY + dt.timedelta(days=1), 11),
    )
    day = {
        "from": lima(MONDAY, 0).isoformat(),
        "to": lima(MONDAY + dt.timedelta(days=1), 0).isoformat(),
        "first": 50,
    }

    def count(**variables):
        _, body = graphql(
            client,
            AGENDA,
            host="clinica1.localhost",
            token=agenda.token,
            variables={**day, **variables},
        )
        return body["data"]["appointments"]["totalCount"]

    assert count() == 3
    assert count(professionalId=global_id("Professional", agenda.professional.pk)) == 2
    assert count(status=["SCHEDULED"]) == 2
    assert count(status=["CANCELLED"]) == 1


@pytest.mark.parametrize("rows", [10, 500])
def test_the_day_agenda_costs_the_same_statements_for_10_and_500(
    client, clinic1, agenda, django_assert_num_queries, rows
):
    with tenant_context(clinic1):
        start = lima(MONDAY, 0)
        Appointment.objects.bulk_create(
            Appointment(
                patient=agenda.patient, professional=agenda.professional, chair=agenda.chair,
                starts_at=start + dt.timedelta(minutes=2 * i), ends_at=start + dt.timedelta(minutes=2 * i + 2),
            )
            for i in range(rows)
        )  # fmt: skip
    variables = {
        "from": start.isoformat(),
        "to": (start + dt.timedelta(days=1)).isoformat(),
        "first": 100,
    }
    # The test's first request, so its routing is cold: host lookup (1, schema-qualified, no
    # SET) + SET to the clinic (1) + token (1) + page with count, patient, professional,
    # chair (1). Warm, the host lookup goes too (tests/tenants_core/test_routing_cache.py).
    with django_assert_num_queries(4):
        _, body = graphql(
            client, AGENDA, host="clinica1.localhost", token=agenda.token, variables=variables
        )
    assert body["data"]["appointments"]["totalCount"] == rows
    assert len(body["data"]["appointments"]["edges"]) == min(rows, 100)


def slots(client, agenda, day, minutes, chair=None):
    variables = {
        "p": global_id("Professional", agenda.professional.pk),
        "date": day.isoformat(),
        "minutes": minutes,
    }
    if chair:
        variables["chair"] = global_id("Chair", chair.pk)
    _, body = graphql(
        client, AVAILABILITY, host="clinica1.localhost", token=agenda.token, variables=variables
    )
    assert "errors" not in body, body
    return [(s["startsAt"][11:16], s["endsAt"][11:16]) for s in body["data"]["availability"]]


def test_availability_goes_around_appointments_and_lunch(client, clinic1, agenda):
    make(clinic1, agenda, lima(MONDAY, 9), lima(MONDAY, 10, 10))
    free = slots(client, agenda, MONDAY, 60)
    assert free[:4] == [
        ("08:00", "09:00"),
        ("10:10", "11:10"),
        ("10:15", "11:15"),
        ("10:30", "11:30"),
    ]
    assert ("12:00", "13:00") in free
    assert ("12:15", "13:15") not in free  # lunch
    assert ("14:00", "15:00") in free
    assert free[-1] == ("17:00", "18:00")


def test_availability_respects_the_chair_when_asked(client, clinic1, agenda):
    make(clinic1, agenda, lima(MONDAY, 8), lima(MONDAY, 12), professional=agenda.other_professional)
    assert ("08:00", "09:00") in slots(client, agenda, MONDAY, 60)
    assert ("08:00", "09:00") not in slots(client, agenda, MONDAY, 60, chair=agenda.chair)


def test_no_availability_on_a_day_off(client, agenda):
    assert slots(client, agenda, MONDAY + dt.timedelta(days=6), 30) == []


def test_availability_is_never_in_the_past(client, agenda):
    assert slots(client, agenda, dt.date(2020, 1, 6), 30) == []


@pytest.mark.parametrize("minutes", [0, 4, 481, -30])
def test_availability_refuses_a_silly_duration(client, agenda, minutes):
    variables = {
        "p": global_id("Professional", agenda.professional.pk),
        "date": MONDAY.isoformat(),
        "minutes": minutes,
    }
    _, body = graphql(
        client, AVAILABILITY, host="clinica1.localhost", token=agenda.token, variables=variables
    )
    assert body["errors"][0]["extensions"]["code"] == "INVALID_DURATION"


def test_availability_of_another_clinics_professional_is_not_found(client, agenda):
    variables = {"p": global_id("Professional", 999999), "date": MONDAY.isoformat(), "minutes": 30}
    _, body = graphql(
        client, AVAILABILITY, host="clinica1.localhost", token=agenda.token, variables=variables
    )
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_availability_across_a_dst_change(client, clinic1, agenda):
    """America/Santiago moves its clocks at local midnight between a Saturday and a Sunday: in
    spring, 00:00–01:00 of that Sunday does not exist; in autumn, the Sunday is on the winter
    offset from its first minute. The next changes come from the time zone database, not from
    a fixed year, so the test never expires."""
    spring = next_offset_change(SANTIAGO, forward=True)
    fall = next_offset_change(SANTIAGO, forward=False)
    # What the expectations below rely on (Chile's rule): each change is on a Sunday, and in
    # spring the wall clock jumps from 00:00 to 01:00.
    assert (spring.day.weekday(), fall.day.weekday()) == (6, 6), (spring, fall)
    skipped = local(spring.day, 0, tz=SANTIAGO).astimezone(dt.UTC).astimezone(SANTIAGO)
    assert skipped.time() == dt.time(1), skipped
    Clinic.objects.filter(pk=clinic1.pk).update(timezone="America/Santiago")
    with tenant_context(clinic1):
        for weekday in (5, 6):  # Saturdays and Sundays, 00:00–03:00
            WorkingHours.objects.create(
                professional=agenda.professional,
                weekday=weekday,
                start_time=dt.time(0),
                end_time=dt.time(3),
            )

    def raw(day, minutes):
        variables = {
            "p": global_id("Professional", agenda.professional.pk),
            "date": day.isoformat(),
            "minutes": minutes,
        }
        _, body = graphql(
            client, AVAILABILITY, host="clinica1.localhost", token=agenda.token, variables=variables
        )
        return body["data"]["availability"]

    day_before = dt.timedelta(days=1)
    # Spring forward: 00:00–03:00 on the wall is two real hours, 01:00–03:00 on the summer
    # offset: 60-minute slots at 01:00, 01:15, 01:30, 01:45 and 02:00.
    summer, winter = offset_text(spring.after), offset_text(spring.before)
    slots_on_the_day = raw(spring.day, 60)
    assert [slot["startsAt"] for slot in slots_on_the_day] == [
        f"{spring.day}T01:{minute}:00{summer}" for minute in ("00", "15", "30", "45")
    ] + [f"{spring.day}T02:00:00{summer}"]
    # The day before keeps the winter offset.
    assert raw(spring.day - day_before, 60)[0]["startsAt"] == (
        f"{spring.day - day_before}T00:00:00{winter}"
    )
    # Fall back: the Saturday is still on the summer offset, the Sunday on the winter one.
    assert raw(fall.day - day_before, 60)[0]["startsAt"] == (
        f"{fall.day - day_before}T00:00:00{offset_text(fall.before)}"
    )
    assert raw(fall.day, 60)[0]["startsAt"] == f"{fall.day}T00:00:00{offset_text(fall.after)}"


def test_a_booking_in_a_dst_clinic_uses_its_local_hours(client, clinic1, agenda):
    from tests.scheduling.conftest import SCHEDULE, booking

    Clinic.objects.filter(pk=clinic1.pk).update(timezone="America/Santiago")
    # 08:00 in Santiago is 06:00 or 07:00 in Lima (outside the hours there), by the season.
    start = local(MONDAY, 8, tz=SANTIAGO)
    _, body = graphql(
        client,
        SCHEDULE,
        host="clinica1.localhost",
        token=agenda.token,
        variables={"input": booking(agenda, start, start + dt.timedelta(hours=1))},
    )
    offset = offset_text(start.utcoffset())
    assert body["data"]["scheduleAppointment"]["startsAt"] == f"{MONDAY}T08:00:00{offset}"

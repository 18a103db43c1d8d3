"""Booking: the front desk never double-books, and refuses what cannot be booked."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django_tenants.utils import tenant_context

from backend.audit.models import AuditEvent
from backend.resources.models import TimeOff
from backend.scheduling.models import Appointment
from tests.conftest import graphql
from tests.ids import global_id
from tests.scheduling.conftest import MONDAY, SCHEDULE, booking, lima

pytestmark = pytest.mark.django_db


def schedule(client, agenda, start, end, **kwargs):
    _, body = graphql(
        client, SCHEDULE, host="clinica1.localhost", token=agenda.token,
        variables={"input": booking(agenda, start, end, **kwargs)},
    )  # fmt: skip
    assert "errors" not in body, body
    return body["data"]["scheduleAppointment"]


def codes(payload):
    return [(m["field"], m["code"]) for m in payload.get("messages", [])]


def test_a_booking_is_stored_and_shown_in_clinic_time(client, clinic1, agenda):
    payload = schedule(client, agenda, lima(MONDAY, 10), lima(MONDAY, 10, 30), reason="Control")
    assert payload["__typename"] == "Appointment"
    assert payload["startsAt"] == f"{MONDAY}T10:00:00-05:00"
    assert payload["endsAt"] == f"{MONDAY}T10:30:00-05:00"
    assert payload["status"] == "SCHEDULED"
    assert payload["patient"]["fullName"] == "José Pérez"
    with tenant_context(clinic1):
        stored = Appointment.objects.get()
        assert stored.starts_at == dt.datetime.combine(MONDAY, dt.time(15), tzinfo=dt.UTC)
        assert AuditEvent.objects.filter(
            action="appointment.schedule", entity_id=str(stored.pk)
        ).exists()


def test_any_offset_is_accepted_for_the_same_instant(client, agenda):
    utc_start = dt.datetime.combine(MONDAY, dt.time(15), tzinfo=dt.UTC)
    payload = schedule(client, agenda, utc_start, utc_start + dt.timedelta(minutes=30))
    assert payload["startsAt"] == f"{MONDAY}T10:00:00-05:00"


def test_back_to_back_appointments_are_both_accepted(client, agenda):
    assert (
        schedule(client, agenda, lima(MONDAY, 10), lima(MONDAY, 10, 30))["__typename"]
        == "Appointment"
    )
    assert (
        schedule(client, agenda, lima(MONDAY, 10, 30), lima(MONDAY, 11))["__typename"]
        == "Appointment"
    )


def test_an_overlap_for_the_professional_is_refused_and_names_the_conflict(client, clinic1, agenda):
    schedule(client, agenda, lima(MONDAY, 10), lima(MONDAY, 10, 30))
    payload = schedule(
        client, agenda, lima(MONDAY, 10, 15), lima(MONDAY, 10, 45),
        chair=agenda.other_chair, patient=agenda.other_patient,
    )  # fmt: skip
    assert codes(payload) == [("startsAt", "APPOINTMENT_OVERLAP")]
    assert f"{MONDAY} 10:00–10:30" in payload["messages"][0]["message"]
    with tenant_context(clinic1):
        assert Appointment.objects.count() == 1


def test_an_overlap_for_the_chair_is_refused(client, agenda):
    schedule(client, agenda, lima(MONDAY, 10), lima(MONDAY, 11))
    payload = schedule(
        client,
        agenda,
        lima(MONDAY, 10, 30),
        lima(MONDAY, 11, 30),
        professional=agenda.other_professional,
    )
    assert codes(payload) == [("startsAt", "APPOINTMENT_OVERLAP")]


def test_other_professional_and_chair_at_the_same_time_is_fine(client, agenda):
    schedule(client, agenda, lima(MONDAY, 10), lima(MONDAY, 11))
    payload = schedule(
        client, agenda, lima(MONDAY, 10), lima(MONDAY, 11),
        professional=agenda.other_professional, chair=agenda.other_chair,
    )  # fmt: skip
    assert payload["__typename"] == "Appointment"


def test_a_cancelled_appointment_frees_its_slot(client, agenda):
    first = schedule(client, agenda, lima(MONDAY, 10), lima(MONDAY, 11))
    _, body = graphql(
        client, 'mutation($id: ID!) { cancelAppointment(id: $id, reason: "Avisó") { ... on Appointment { status } } }',
        host="clinica1.localhost", token=agenda.token, variables={"id": first["id"]},
    )  # fmt: skip
    assert body["data"]["cancelAppointment"] == {"status": "CANCELLED"}
    assert (
        schedule(client, agenda, lima(MONDAY, 10), lima(MONDAY, 11))["__typename"] == "Appointment"
    )


def test_the_database_itself_refuses_an_overlap(clinic1, agenda):
    """Even a write that skips the service cannot double-book: the exclusion constraint."""
    with tenant_context(clinic1):
        Appointment.objects.create(
            patient=agenda.patient, professional=agenda.professional, chair=agenda.chair,
            starts_at=lima(MONDAY, 10), ends_at=lima(MONDAY, 11),
        )  # fmt: skip
        with (
            pytest.raises(IntegrityError, match="appointment_no_professional_overlap"),
            transaction.atomic(),
        ):
            Appointment.objects.create(
                patient=agenda.other_patient, professional=agenda.professional, chair=agenda.other_chair,
                starts_at=lima(MONDAY, 10, 59), ends_at=lima(MONDAY, 12),
            )  # fmt: skip


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (lima(MONDAY, 7, 30), lima(MONDAY, 8, 30), [("startsAt", "OUTSIDE_WORKING_HOURS")]),
        (
            lima(MONDAY, 12, 45),
            lima(MONDAY, 13, 15),
            [("startsAt", "OUTSIDE_WORKING_HOURS")],
        ),  # lunch
        (lima(MONDAY, 17, 45), lima(MONDAY, 18, 15), [("startsAt", "OUTSIDE_WORKING_HOURS")]),
        (
            lima(MONDAY + dt.timedelta(days=5), 10),
            lima(MONDAY + dt.timedelta(days=5), 11),
            [("startsAt", "OUTSIDE_WORKING_HOURS")],
        ),  # Saturday
        (lima(MONDAY, 11), lima(MONDAY, 10), [("endsAt", "INVALID_TIME_RANGE")]),
        (lima(MONDAY, 10), lima(MONDAY, 10), [("endsAt", "INVALID_TIME_RANGE")]),
        (lima(MONDAY, 8), lima(MONDAY, 16, 1), [("endsAt", "DURATION_TOO_LONG")]),
        (
            lima(dt.date(2020, 1, 6), 10),
            lima(dt.date(2020, 1, 6), 11),
            [("startsAt", "IN_THE_PAST")],
        ),
    ],
    ids=[
        "before-hours",
        "lunch",
        "after-hours",
        "saturday",
        "end-before-start",
        "empty",
        "over-8h",
        "past",
    ],
)
def test_bookings_that_cannot_be_are_refused_with_their_code(
    client, clinic1, agenda, start, end, expected
):
    payload = schedule(client, agenda, start, end)
    assert codes(payload) == expected
    with tenant_context(clinic1):
        assert not Appointment.objects.exists()


def test_time_off_blocks_bookings(client, clinic1, agenda):
    with tenant_context(clinic1):
        TimeOff.objects.create(
            professional=agenda.professional,
            starts_at=lima(MONDAY, 0),
            ends_at=lima(MONDAY, 23, 59),
        )
    payload = schedule(client, agenda, lima(MONDAY, 10), lima(MONDAY, 11))
    assert codes(payload) == [("startsAt", "OUTSIDE_WORKING_HOURS")]


@pytest.mark.parametrize(
    ("what", "code"),
    [
        ("patient", "PATIENT_ARCHIVED"),
        ("professional", "INACTIVE_RESOURCE"),
        ("chair", "INACTIVE_RESOURCE"),
    ],
)
def test_archived_or_inactive_parties_cannot_be_booked(client, clinic1, agenda, what, code):
    with tenant_context(clinic1):
        target = getattr(agenda, what)
        if what == "patient":
            target.is_archived = True
        else:
            target.is_active = False
        target.save()
    payload = schedule(client, agenda, lima(MONDAY, 10), lima(MONDAY, 11))
    assert codes(payload) == [(f"{what}Id", code)]


def test_ids_of_the_wrong_type_are_not_found(client, agenda):
    variables = {"input": booking(agenda, lima(MONDAY, 10), lima(MONDAY, 11))}
    variables["input"]["patientId"] = global_id("Chair", agenda.chair.pk)
    _, body = graphql(
        client, SCHEDULE, host="clinica1.localhost", token=agenda.token, variables=variables
    )
    assert codes(body["data"]["scheduleAppointment"]) == [("patientId", "NOT_FOUND")]


def test_a_naive_datetime_is_refused(client, agenda):
    variables = {"input": booking(agenda, lima(MONDAY, 10), lima(MONDAY, 11))}
    variables["input"]["startsAt"] = f"{MONDAY}T10:00:00"
    _, body = graphql(
        client, SCHEDULE, host="clinica1.localhost", token=agenda.token, variables=variables
    )
    assert codes(body["data"]["scheduleAppointment"]) == [("startsAt", "INVALID_TIME_RANGE")]


def test_a_clinic_created_later_gets_working_constraints_and_search(
    client, platform_token, django_db_blocker
):
    """Extensions are shared, not installed in one clinic: a new clinic's exclusion
    constraints and trigram search work at once."""
    from backend.patients.models import Patient
    from backend.resources.models import Chair, Professional
    from tenants_core.services import clinic_provision

    clinic = clinic_provision(
        subdomain="nueva-sede", name="Nueva Sede", legal_id="20600000005", email="n@sede.pe",
        admin_password="Muy-segura-123",
    )  # fmt: skip
    with tenant_context(clinic):
        patient = Patient.objects.create(
            first_name="Íñigo", last_name="Ñúñez", document_type="DNI", document_number="11223344"
        )
        professional = Professional.objects.create(full_name="Dr. X", license_number="1")
        chair = Chair.objects.create(name="S1")
        Appointment.objects.create(
            patient=patient,
            professional=professional,
            chair=chair,
            starts_at=lima(MONDAY, 10),
            ends_at=lima(MONDAY, 11),
        )
        with pytest.raises(IntegrityError), transaction.atomic():
            Appointment.objects.create(
                patient=patient,
                professional=professional,
                chair=chair,
                starts_at=lima(MONDAY, 10, 30),
                ends_at=lima(MONDAY, 11, 30),
            )
        from backend.patients.selectors import patient_list

        assert list(patient_list(search="inigo nun")) == [patient]

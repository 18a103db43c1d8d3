"""The agenda's rules where they live, in the services and selectors, called as a background
job or the patient assistant would call them: with an actor, and no GraphQL in between.

The GraphQL answers of the same rules are tested in ``tests/accounts/test_role_matrix.py``
(a dentist and another professional's appointment: ``FORBIDDEN``) and
``tests/scheduling/test_lifecycle_and_agenda.py`` (the free-slot search). Checked: with the
rules back in the resolvers only (the own-appointment check in ``changeAppointmentStatus``,
the bounds in ``availability``), every refusal test here went red, while those GraphQL tests
stayed green; so did the clinic-time test with the zone no longer the selector's choice
(UTC), and the answer test with ``Forbidden`` no longer mapped in ``graphql_api/errors.py``.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from django_tenants.utils import tenant_context
from graphql import located_error

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.core.error_codes import Forbidden
from backend.scheduling import selectors, services
from backend.scheduling.models import Appointment, AppointmentStatus
from graphql_api.core.errors import classify, publish
from tests.scheduling.conftest import MONDAY, lima

pytestmark = pytest.mark.django_db


@pytest.fixture
def appointment(clinic1, agenda):
    """A scheduled appointment with ``agenda.professional``, whose user is a dentist."""
    with tenant_context(clinic1):
        return Appointment.objects.create(
            patient=agenda.patient, professional=agenda.professional, chair=agenda.chair,
            starts_at=lima(MONDAY, 10), ends_at=lima(MONDAY, 11),
        )  # fmt: skip


@pytest.fixture
def own_dentist(clinic1, agenda, make_staff):
    dentist = make_staff(clinic1, Role.DENTIST)
    with tenant_context(clinic1):
        agenda.professional.user = dentist
        agenda.professional.save()
    return dentist


@pytest.fixture
def reader(clinic1, make_staff):
    """Someone who may see the agenda and manage it."""
    return make_staff(clinic1, Role.RECEPTIONIST)


def _confirm(actor, appointment):
    """``appointment_change_status`` to CONFIRMED, loading the appointment as the API does
    (through the selector, with its professional)."""
    loaded = selectors.appointment_get(actor=actor, appointment_id=appointment.pk)
    return services.appointment_change_status(actor=actor, appointment=loaded, status="CONFIRMED")


def _cancel(actor, appointment):
    loaded = selectors.appointment_get(actor=actor, appointment_id=appointment.pk)
    return services.appointment_cancel(actor=actor, appointment=loaded, reason="Se enfermó")


def _unchanged(appointment) -> bool:
    appointment_now = Appointment.objects.get(pk=appointment.pk)
    changes = AuditEvent.objects.filter(action="appointment.change_status")
    return appointment_now.status == AppointmentStatus.SCHEDULED and not changes.exists()


@pytest.mark.parametrize("change", [_confirm, _cancel], ids=["change_status", "cancel"])
def test_another_dentist_cannot_change_or_cancel_an_appointment(
    clinic1, appointment, own_dentist, make_staff, change
):
    other_dentist = make_staff(clinic1, Role.DENTIST)
    with tenant_context(clinic1):
        with pytest.raises(Forbidden):
            change(other_dentist, appointment)
        assert _unchanged(appointment)


@pytest.mark.parametrize("role", [Role.ASSISTANT, Role.DENTIST])
def test_a_role_that_does_not_manage_the_agenda_changes_no_unowned_appointment(
    clinic1, appointment, make_staff, role
):
    """Nobody's appointment (its professional has no user) is nobody's to change but the
    agenda's managers'."""
    caller = make_staff(clinic1, role)
    with tenant_context(clinic1):
        with pytest.raises(Forbidden):
            _confirm(caller, appointment)
        assert _unchanged(appointment)


def test_a_dentist_changes_the_status_of_their_own_appointment(clinic1, appointment, own_dentist):
    with tenant_context(clinic1):
        assert _confirm(own_dentist, appointment).status == AppointmentStatus.CONFIRMED


@pytest.mark.parametrize("role", [Role.ADMIN, Role.RECEPTIONIST])
def test_whoever_manages_the_agenda_cancels_any_appointment(
    clinic1, appointment, own_dentist, make_staff, role
):
    manager = make_staff(clinic1, role)
    with tenant_context(clinic1):
        assert _cancel(manager, appointment).status == AppointmentStatus.CANCELLED


def test_the_refusal_is_answered_as_the_permission_checks_answer():
    """A service's ``Forbidden`` reaches the client as the declarative checks' refusal did:
    ``FORBIDDEN``, with the same (translated) sentence, and no detail of the service's."""
    error = located_error(Forbidden("an internal detail"), None, ["changeAppointmentStatus"])
    classification = classify(error)
    with translation.override("es"):
        publish(error, classification, request_id="req-1")
    assert classification.code == "FORBIDDEN"
    assert classification.expected
    assert error.extensions == {"code": "FORBIDDEN"}
    with translation.override("es"):
        assert error.message == translation.gettext("Your role does not allow this.")
    assert "internal detail" not in error.message


# --- the free-slot search -------------------------------------------------------------------


def _slots(agenda, actor, *, date=MONDAY, minutes=60, professional_id=None, now=None):
    return selectors.free_slot_list(
        actor=actor,
        professional_id=professional_id or agenda.professional.pk,
        date=date,
        duration_minutes=minutes,
        now=now or lima(MONDAY, 0) - dt.timedelta(days=1),
    )


def _refusal(raised: pytest.ExceptionInfo[ValidationError]) -> tuple[str, str | None]:
    """The field and code of a refusal that names its field (NOT_FOUND names none)."""
    assert hasattr(raised.value, "error_dict"), raised.value
    ((field, (error, *_others)),) = raised.value.error_dict.items()
    return field, error.code


@pytest.mark.parametrize("year", [1999, 2101])
def test_the_free_slot_search_refuses_a_date_outside_2000_to_2100(clinic1, agenda, reader, year):
    with tenant_context(clinic1), pytest.raises(ValidationError) as raised:
        _slots(agenda, reader, date=dt.date(year, 6, 7))
    assert _refusal(raised) == ("date", "INVALID_TIME_RANGE")


@pytest.mark.parametrize("minutes", [0, 4, 481, -30])
def test_the_free_slot_search_refuses_a_silly_duration(clinic1, agenda, reader, minutes):
    with tenant_context(clinic1), pytest.raises(ValidationError) as raised:
        _slots(agenda, reader, minutes=minutes)
    assert _refusal(raised) == ("duration_minutes", "INVALID_DURATION")


def test_the_free_slot_search_takes_5_minutes_to_8_hours(clinic1, agenda, reader):
    with tenant_context(clinic1):
        assert _slots(agenda, reader, minutes=5)
        assert _slots(agenda, reader, minutes=480) == []  # no working stretch is that long


def test_the_bounds_are_checked_before_the_professional_is_looked_up(clinic1, agenda, reader):
    with tenant_context(clinic1), pytest.raises(ValidationError) as raised:
        _slots(agenda, reader, minutes=4, professional_id=999_999)
    assert _refusal(raised) == ("duration_minutes", "INVALID_DURATION")


def test_the_free_slot_search_is_in_clinic_time_every_15_minutes_and_never_in_the_past(
    clinic1, agenda, reader
):
    with tenant_context(clinic1):
        slots = _slots(agenda, reader, now=lima(MONDAY, 10, 5))
    assert slots[0] == (lima(MONDAY, 10, 15), lima(MONDAY, 11, 15))
    assert slots[1][0] == lima(MONDAY, 10, 30)
    assert slots[-1] == (lima(MONDAY, 17), lima(MONDAY, 18))

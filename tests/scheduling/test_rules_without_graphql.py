"""The agenda's rules where they live, in the services and selectors, called as a background
job or the patient assistant would call them: with an actor, and no GraphQL in between.

The GraphQL answers of the same rules are tested in ``tests/accounts/test_role_matrix.py``
(a dentist and another professional's appointment: ``FORBIDDEN``) and
``tests/scheduling/test_lifecycle_and_agenda.py``. Checked: with the rule back in the
resolver only (the own-appointment check in ``changeAppointmentStatus``), every refusal test
here went red, while those GraphQL tests stayed green; so did the answer test with
``Forbidden`` no longer mapped in ``graphql_api/errors.py``.
"""

from __future__ import annotations

import pytest
from django.utils import translation
from django_tenants.utils import tenant_context
from graphql import located_error

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.core.error_codes import Forbidden
from backend.scheduling import selectors, services
from backend.scheduling.models import Appointment, AppointmentStatus
from graphql_api.errors import classify, publish
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

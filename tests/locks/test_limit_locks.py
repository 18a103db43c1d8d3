"""The clinic's row (``clinic_lock`` in ``tenants_core/limits.py``) under real races.

README: plan limits count a resource inside the creating transaction under a row lock on the
clinic, so concurrent creations cannot overshoot (``PLAN_LIMIT_REACHED``); a plan below the
clinic's usage is refused (``PLAN_BELOW_USAGE``). The platform's changes of a clinic
(suspend, reactivate, settings) hold the same lock.
"""

from __future__ import annotations

from django_tenants.utils import schema_context

from backend.accounts.models import Role, User
from backend.audit.models import AuditEvent
from backend.patients.models import Patient
from tenants_core.models import Clinic, ClinicStatus
from tests.conftest import TEST_PASSWORD
from tests.locks.conftest import SUBDOMAIN
from tests.locks.support import api, codes, payload, race

CREATE_PATIENT = """mutation($doc: String!) { createPatient(input: {firstName: "Luz",
    lastName: "Mamani", documentType: DNI, documentNumber: $doc}) {
    __typename ... on OperationInfo { messages { code message } } } }"""
CREATE_USER = """mutation($email: String!, $password: String!) { createStaffUser(input: {
    email: $email, fullName: "Nueva Persona", role: ASSISTANT, password: $password}) {
    __typename ... on OperationInfo { messages { code message } } } }"""
CHANGE_PLAN = """mutation($s: String!, $plan: PlanCode!) { changeClinicPlan(subdomain: $s, plan: $plan) {
    __typename ... on ManagedClinic { plan { code } }
    ... on OperationInfo { messages { code message } } } }"""
SUSPEND = """mutation($s: String!) { suspendClinic(subdomain: $s, reason: "Pago pendiente") {
    __typename ... on OperationInfo { messages { code message } } } }"""
REACTIVATE = """mutation($s: String!) { reactivateClinic(subdomain: $s) {
    __typename ... on OperationInfo { messages { code message } } } }"""
SETTINGS = """mutation($on: Boolean!) { updateClinicSettings(restrictNotesToAuthor: $on) {
    __typename ... on OperationInfo { messages { code message } } } }"""


def active_patients(place) -> int:
    with place.inside():
        return Patient.objects.filter(is_archived=False).count()


def set_active_patients(place, wanted: int) -> None:
    """Exactly ``wanted`` patients count against the plan (archived ones do not)."""
    with place.inside():
        counted = Patient.objects.filter(is_archived=False)
        excess = counted.count() - wanted
        if excess > 0:
            Patient.objects.filter(pk__in=counted.values("pk")[:excess]).update(is_archived=True)
        Patient.objects.bulk_create(
            Patient(
                first_name="Uno", last_name="Más", document_type="DNI",
                document_number=f"{30_000_000 + Patient.objects.count() + i}",
            )
            for i in range(-excess)
        )  # fmt: skip
    assert active_patients(place) == wanted


def active_users(place) -> int:
    with place.inside():
        return User.objects.filter(is_active=True).count()


def limit(place, **override: int) -> None:
    Clinic.objects.filter(pk=place.clinic.pk).update(**override)


def test_two_patients_created_at_once_for_the_last_seat_give_one_patient(committed):
    """One patient seat left, two registrations at once: one patient is created, the other
    is refused with ``PLAN_LIMIT_REACHED``; the clinic ends exactly at its limit.

    Checked: without ``select_for_update()`` in ``clinic_lock`` (``limit_reserve``) the
    second registration counts the patients before the first commits and is created too:
    one patient over the limit.
    """
    place = committed
    seats = active_patients(place) + 1
    limit(place, max_patients_override=seats)

    result = race(
        place.schema,
        "patient.create",
        api(place.host, place.token, CREATE_PATIENT, {"doc": "71234567"}),
        api(place.host, place.token, CREATE_PATIENT, {"doc": "71234568"}),
    )

    assert payload(result.first, "createPatient")["__typename"] == "Patient"
    assert codes(result.second, "createPatient") == ["PLAN_LIMIT_REACHED"]
    assert result.second_waited
    assert active_patients(place) == seats


def test_two_users_created_at_once_for_the_last_seat_give_one_user(committed):
    """One user seat left, two new staff users at once: one is created, the other refused
    with ``PLAN_LIMIT_REACHED``; active users end exactly at the limit.

    Checked: without ``select_for_update()`` in ``clinic_lock`` the second creation counts
    the users before the first commits: one user over the limit.
    """
    place = committed
    seats = active_users(place) + 1
    limit(place, max_users_override=seats)

    result = race(
        place.schema,
        "staff.create",
        api(
            place.host,
            place.token,
            CREATE_USER,
            {"email": "uno@cerrojos.pe", "password": TEST_PASSWORD},
        ),
        api(
            place.host,
            place.token,
            CREATE_USER,
            {"email": "otro@cerrojos.pe", "password": TEST_PASSWORD},
        ),
    )

    assert payload(result.first, "createStaffUser")["__typename"] == "StaffUser"
    assert codes(result.second, "createStaffUser") == ["PLAN_LIMIT_REACHED"]
    assert active_users(place) == seats


def test_a_plan_change_racing_a_registration_counts_the_new_patient(committed):
    """A clinic with 50 patients (the basic plan's limit) on a larger plan; a 51st patient is
    being registered when the operator moves the clinic to basic. The registration goes
    first, so the move is refused with ``PLAN_BELOW_USAGE``: no clinic is ever left above
    its plan.

    Checked: without ``clinic_lock`` in ``clinic_plan_change`` (a plain read of the clinic)
    the move counts 50 patients, not 51, and goes through: a basic clinic with 51 patients.
    """
    place = committed
    with place.inside():  # only the patients are in question: one active user, the admin
        User.objects.exclude(pk=place.admin.pk).update(is_active=False)
    set_active_patients(place, 50)

    result = race(
        place.schema,
        "patient.create",
        api(place.host, place.token, CREATE_PATIENT, {"doc": "72345678"}),
        api(
            place.public_host, place.platform_token, CHANGE_PLAN, {"s": SUBDOMAIN, "plan": "BASIC"}
        ),
    )

    assert payload(result.first, "createPatient")["__typename"] == "Patient"
    assert codes(result.second, "changeClinicPlan") == ["PLAN_BELOW_USAGE"]
    assert Clinic.objects.get(pk=place.clinic.pk).plan.code == "enterprise"
    assert active_patients(place) == 51


def test_two_suspensions_at_once_suspend_the_clinic_once(committed):
    """Two operators suspend the clinic at once: one does, the other is told
    ``ALREADY_SUSPENDED``; one audit event.

    Checked: without ``clinic_lock`` in ``clinic_suspend`` the second reads the clinic as
    active and suspends it again: two successes, two audit events.
    """
    place = committed
    suspend = api(place.public_host, place.platform_token, SUSPEND, {"s": SUBDOMAIN})
    before = _platform_events("clinic.suspend", place)

    result = race("public", "clinic.suspend", suspend, suspend)

    assert payload(result.first, "suspendClinic")["__typename"] == "ManagedClinic"
    assert codes(result.second, "suspendClinic") == ["ALREADY_SUSPENDED"]
    assert Clinic.objects.get(pk=place.clinic.pk).status == ClinicStatus.SUSPENDED
    assert _platform_events("clinic.suspend", place) == before + 1


def test_two_reactivations_at_once_reactivate_the_clinic_once(committed):
    """Two operators lift a suspension at once: one does, the other is told
    ``NOT_SUSPENDED``; one audit event.

    Checked: without ``clinic_lock`` in ``clinic_reactivate`` both reactivate it.
    """
    place = committed
    limit(place, status=ClinicStatus.SUSPENDED, suspension_reason="Pago pendiente")
    reactivate = api(place.public_host, place.platform_token, REACTIVATE, {"s": SUBDOMAIN})
    before = _platform_events("clinic.reactivate", place)

    result = race("public", "clinic.reactivate", reactivate, reactivate)

    assert payload(result.first, "reactivateClinic")["__typename"] == "ManagedClinic"
    assert codes(result.second, "reactivateClinic") == ["NOT_SUSPENDED"]
    assert Clinic.objects.get(pk=place.clinic.pk).status == ClinicStatus.ACTIVE
    assert _platform_events("clinic.reactivate", place) == before + 1


def test_two_clinic_settings_changes_at_once_are_audited_in_order(committed):
    """Two admins switch ``restrictNotesToAuthor`` at once, on then off: the setting ends
    off, and the second change's audit event says it went from on to off (the trail can be
    replayed).

    Checked: without ``clinic_lock`` in ``clinic_settings_update`` the second change reads
    the setting before the first commits: its event says off to off, and the trail loses
    the switch back.
    """
    place = committed
    other_admin = place.staff(Role.ADMIN)

    result = race(
        place.schema,
        "clinic.update_settings",
        api(place.host, place.token, SETTINGS, {"on": True}),
        api(place.host, place.token_of(other_admin), SETTINGS, {"on": False}),
    )

    assert codes(result.first, "updateClinicSettings") == []
    assert codes(result.second, "updateClinicSettings") == []
    assert Clinic.objects.get(pk=place.clinic.pk).restrict_notes_to_author is False
    with place.inside():
        last = AuditEvent.objects.filter(action="clinic.update_settings").latest("id")
        assert last.actor_id == other_admin.pk
        assert last.changes == {"restrict_notes_to_author": {"from": True, "to": False}}


def _platform_events(action: str, place) -> int:
    """Events of the platform's trail (the public schema's) about the clinic."""
    with schema_context("public"):
        events = AuditEvent.objects.filter(action=action, entity_id=str(place.clinic.pk))
        return events.count()

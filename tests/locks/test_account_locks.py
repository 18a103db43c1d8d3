"""Accounts' locks under real races: the last active admin (README: ``LAST_ADMIN``, "the
last active admin cannot be demoted" / "deactivated") and login throttling (README: five
failed logins for one account and client IP within 15 minutes refuse further attempts)."""

from __future__ import annotations

import pytest

from backend.accounts.models import AuthToken, LoginFailure, Role, User
from backend.audit.models import AuditEvent
from tests.conftest import TEST_PASSWORD
from tests.locks.support import api, codes, gid, payload, race

DEACTIVATE = """mutation($id: ID!) { deactivateStaffUser(id: $id) {
    __typename ... on OperationInfo { messages { code message } } } }"""
DEMOTE = """mutation($id: ID!) { changeStaffRole(id: $id, role: DENTIST) {
    __typename ... on OperationInfo { messages { code message } } } }"""
LOGIN = """mutation($e: String!, $p: String!) { login(email: $e, password: $p) {
    __typename ... on OperationInfo { messages { code } } } }"""

ACTIONS = {  # mutation, its field, the audit action it writes
    "deactivates": (DEACTIVATE, "deactivateStaffUser", "staff.deactivate"),
    "demotes": (DEMOTE, "changeStaffRole", "staff.change_role"),
}


@pytest.mark.parametrize("second", list(ACTIONS))
@pytest.mark.parametrize("first", list(ACTIONS))
def test_two_admins_removing_each_other_at_once_leave_one_admin(committed, first, second):
    """The clinic's only two active admins, at the same moment: each demotes or deactivates
    the other. The first goes through; the second is refused with ``LAST_ADMIN``, because
    the admin it would remove is by then the last one. One active admin always stays.

    Checked: without ``select_for_update()`` in ``_lock_active_admins`` each request counts
    two admins (the other's change is not committed yet) and each locks only its own target:
    both succeed and the clinic is left with no active admin, in all four combinations.
    """
    place = committed
    with place.inside():
        assert list(
            User.objects.filter(role=Role.ADMIN, is_active=True).values_list("pk", flat=True)
        ) == [place.admin.pk]
    other = place.staff(Role.ADMIN)
    query_1, field_1, action_1 = ACTIONS[first]
    query_2, field_2, _ = ACTIONS[second]

    result = race(
        place.schema,
        action_1,
        api(place.host, place.token_of(place.admin), query_1, {"id": gid(other, "StaffUser")}),
        api(place.host, place.token_of(other), query_2, {"id": gid(place.admin, "StaffUser")}),
    )

    assert payload(result.first, field_1)["__typename"] == "StaffUser"
    assert codes(result.second, field_2) == ["LAST_ADMIN"]
    with place.inside():
        admins = User.objects.filter(role=Role.ADMIN, is_active=True)
        assert list(admins.values_list("pk", flat=True)) == [place.admin.pk]


def test_two_deactivations_of_one_user_at_once_deactivate_them_once(committed):
    """Two admins deactivate the same dentist at once: one does, the other is told
    ``ALREADY_INACTIVE``; one audit event.

    Checked: this race has two locks, the dentist's row (``select_for_update()`` in
    ``staff_user_deactivate``) and the admins' rows (``_lock_active_admins``, taken first by
    every role change and deactivation); either alone keeps the test green. Without both,
    the second deactivation reads the dentist as active and deactivates them again: two
    successes, two audit events.
    """
    place = committed
    dentist = place.staff(Role.DENTIST)
    other_admin = place.staff(Role.ADMIN)

    result = race(
        place.schema,
        "staff.deactivate",
        api(place.host, place.token, DEACTIVATE, {"id": gid(dentist, "StaffUser")}),
        api(place.host, place.token_of(other_admin), DEACTIVATE, {"id": gid(dentist, "StaffUser")}),
    )

    assert payload(result.first, "deactivateStaffUser")["__typename"] == "StaffUser"
    assert codes(result.second, "deactivateStaffUser") == ["ALREADY_INACTIVE"]
    with place.inside():
        events = AuditEvent.objects.filter(action="staff.deactivate", entity_id=str(dentist.pk))
        assert events.count() == 1


CHANGE_ROLE = """mutation($id: ID!, $role: Role!) { changeStaffRole(id: $id, role: $role) {
    __typename ... on OperationInfo { messages { code message } } } }"""


def test_two_role_changes_of_one_user_at_once_are_audited_in_order(committed):
    """Two admins change a dentist's role at once, one to assistant, the other to
    receptionist: the second change stays, and its audit event says it replaced the first
    one's role (the trail reads dentist → assistant → receptionist).

    Checked: two locks guard this race, the user's row (``select_for_update()`` in
    ``staff_role_change``) and the admins' rows (``_lock_active_admins``); either alone
    keeps the test green. Without both, the second change reads the user as a dentist: its
    event says dentist → receptionist, and the assistant role vanishes from the trail.
    """
    place = committed
    dentist = place.staff(Role.DENTIST)
    other_admin = place.staff(Role.ADMIN)
    user_id = gid(dentist, "StaffUser")

    result = race(
        place.schema,
        "staff.change_role",
        api(place.host, place.token, CHANGE_ROLE, {"id": user_id, "role": "ASSISTANT"}),
        api(
            place.host,
            place.token_of(other_admin),
            CHANGE_ROLE,
            {"id": user_id, "role": "RECEPTIONIST"},
        ),
    )

    assert payload(result.first, "changeStaffRole")["__typename"] == "StaffUser"
    assert payload(result.second, "changeStaffRole")["__typename"] == "StaffUser"
    with place.inside():
        events = AuditEvent.objects.filter(action="staff.change_role", entity_id=str(dentist.pk))
        assert [e.changes["role"] for e in events.order_by("id")] == [
            {"from": "DENTIST", "to": "ASSISTANT"},
            {"from": "ASSISTANT", "to": "RECEPTIONIST"},
        ]
        assert User.objects.get(pk=dentist.pk).role == Role.RECEPTIONIST


def test_a_login_racing_the_fifth_failure_is_throttled(committed):
    """Four failed logins are recorded for an account from this client IP; a fifth wrong
    password and the right one arrive at once. The fifth failure is counted first, so the
    right password is refused with ``LOGIN_THROTTLED``: five failures refuse further attempts,
    whatever their timing. No token is issued.

    Checked: without ``pg_advisory_xact_lock`` in ``_lock_login`` the right password is
    checked against four failures (the fifth is not committed yet) and signs in: a sixth
    guess got through.
    """
    place = committed
    user = place.staff(Role.RECEPTIONIST)
    with place.inside():
        LoginFailure.objects.bulk_create(
            LoginFailure(email=user.email, ip="127.0.0.1") for _ in range(4)
        )

    result = race(
        place.schema,
        "auth.login_failed",
        api(place.host, None, LOGIN, {"e": user.email, "p": "not-the-password"}),
        api(place.host, None, LOGIN, {"e": user.email, "p": TEST_PASSWORD}),
    )

    assert codes(result.first, "login") == ["INVALID_CREDENTIALS"]
    assert codes(result.second, "login") == ["LOGIN_THROTTLED"]
    assert result.second_waited
    with place.inside():
        assert not AuthToken.objects.filter(user=user).exists()

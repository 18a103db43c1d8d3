"""Permissions of scheduling."""

from enum import StrEnum

from backend.accounts.models import Role
from backend.accounts.permissions import Grant


class SchedulingPermission(StrEnum):
    VIEW_AGENDA = "agenda.view"
    MANAGE_AGENDA = "agenda.manage"
    CHANGE_OWN_APPOINTMENT_STATUS = "agenda.change_own_status"


GRANTS = (
    Grant(
        SchedulingPermission.VIEW_AGENDA,
        frozenset(Role),
        "See the whole agenda and the free slots",
    ),
    Grant(
        SchedulingPermission.MANAGE_AGENDA,
        frozenset({Role.ADMIN, Role.RECEPTIONIST}),
        "Book, reschedule, cancel and change the status of any appointment",
    ),
    Grant(
        SchedulingPermission.CHANGE_OWN_APPOINTMENT_STATUS,
        frozenset({Role.DENTIST}),
        "Change the status of the appointments booked with oneself",
    ),
)

"""Permissions of patient messaging."""

from enum import StrEnum

from backend.accounts.models import Role
from backend.accounts.permissions import Grant


class NotificationPermission(StrEnum):
    VIEW_NOTIFICATIONS = "notifications.view"
    SEND_NOTIFICATIONS = "notifications.send"
    MANAGE_MESSAGING = "notifications.manage"
    HANDLE_INBOX = "notifications.inbox"


GRANTS = (
    Grant(
        NotificationPermission.VIEW_NOTIFICATIONS,
        frozenset({Role.ADMIN, Role.RECEPTIONIST, Role.DENTIST, Role.ASSISTANT}),
        "See the messages sent to patients and their status",
    ),
    Grant(
        NotificationPermission.SEND_NOTIFICATIONS,
        frozenset({Role.ADMIN, Role.RECEPTIONIST}),
        "Resend a message; change a patient's contact preferences",
    ),
    Grant(
        NotificationPermission.MANAGE_MESSAGING,
        frozenset({Role.ADMIN}),
        "Change the reminder rules, quiet hours and message templates",
    ),
    Grant(
        NotificationPermission.HANDLE_INBOX,
        frozenset({Role.ADMIN, Role.RECEPTIONIST}),
        "Read and handle patients' replies that no rule understood",
    ),
)

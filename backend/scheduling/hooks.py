"""What other apps do when an appointment changes, registered by them.

Scheduling sits below the apps that react to appointments (patient messaging plans its
reminders) and imports none of them. Each registers a hook from its ``AppConfig.ready()``;
the scheduling services call every hook inside their own transaction, after the write, so
whatever a hook writes (a message planned, a job deferred) commits or rolls back with the
booking."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from backend.scheduling.models import Appointment


class AppointmentEvent(StrEnum):
    SCHEDULED = "scheduled"
    RESCHEDULED = "rescheduled"
    STATUS_CHANGED = "status_changed"  # confirmed, cancelled, checked in…


AppointmentHook = Callable[[Appointment, AppointmentEvent], None]

_hooks: list[AppointmentHook] = []


def appointment_hook_register(hook: AppointmentHook) -> None:
    if hook not in _hooks:  # AppConfig.ready() may run again (tests)
        _hooks.append(hook)


def appointment_changed(appointment: Appointment, event: AppointmentEvent) -> None:
    for hook in _hooks:
        hook(appointment, event)

"""Reading the agenda and searching it for free slots.

Every role that may see the agenda sees all of it: the selectors take the ``actor`` all the
same, so that a rule about who sees what has one place to go and no caller can skip it.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.clinic_admin.selectors import clinic_profile_get
from backend.core.error_codes import CommonError
from backend.patients import selectors as patient_selectors
from backend.resources import selectors as resource_selectors
from backend.scheduling.availability import Interval, free_slots
from backend.scheduling.errors import SchedulingError
from backend.scheduling.models import MAX_DURATION, Appointment
from tenants_core.context import current_timezone

# The free-slot search: a day of these years, slots of this many minutes.
SLOT_SEARCH_YEARS = (2000, 2100)
SLOT_MINUTES = (5, int(MAX_DURATION.total_seconds()) // 60)


def appointment_list(
    *,
    actor: User,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    professional_id: int | None = None,
    chair_id: int | None = None,
    patient_id: int | None = None,
    statuses: list[str] | None = None,
) -> QuerySet[Appointment]:
    """Appointments that overlap ``[since, until)``, in time order, of what ``actor`` may
    see: all of them."""
    # A filter naming a professional, chair or patient this clinic does not have is
    # NOT_FOUND, as everywhere else an ID is taken, not an empty agenda.
    if professional_id is not None:
        resource_selectors.professional_get(professional_id=professional_id)
    if chair_id is not None:
        resource_selectors.chair_get(chair_id=chair_id)
    if patient_id is not None:
        patient_selectors.patient_get(patient_id=patient_id)
    appointments = Appointment.objects.all()
    if since is not None:
        appointments = appointments.filter(ends_at__gt=since)
    if until is not None:
        appointments = appointments.filter(starts_at__lt=until)
    if professional_id is not None:
        appointments = appointments.filter(professional_id=professional_id)
    if chair_id is not None:
        appointments = appointments.filter(chair_id=chair_id)
    if patient_id is not None:
        appointments = appointments.filter(patient_id=patient_id)
    if statuses:
        appointments = appointments.filter(status__in=statuses)
    return appointments.order_by("starts_at", "id")


def appointment_rows(*, actor: User, appointment_id: int | str) -> QuerySet[Appointment]:
    """The appointment ``appointment_get`` answers, as a queryset (empty for ``NOT_FOUND``):
    of what ``actor`` may see, all of them. Compiled reads select from it."""
    return Appointment.objects.filter(pk=int(appointment_id))


def appointment_get(*, actor: User, appointment_id: int | str) -> Appointment:
    """One appointment ``actor`` may see (any), with its professional; ``NOT_FOUND``
    otherwise."""
    try:
        return (
            appointment_rows(actor=actor, appointment_id=appointment_id)
            .select_related("professional")
            .get()
        )
    except (Appointment.DoesNotExist, ValueError, TypeError):
        raise ValidationError(_("No such appointment."), code=CommonError.NOT_FOUND) from None


def is_own_appointment(user: User, appointment: Appointment) -> bool:
    """Whether ``user`` is the professional the appointment is booked with."""
    return appointment.professional.user_id == user.pk


def free_slot_list(
    *,
    actor: User,
    professional_id: int | str,
    date: dt.date,
    duration_minutes: int | None = None,
    chair_id: int | str | None = None,
    now: dt.datetime | None = None,
) -> list[Interval]:
    """Free slots of ``duration_minutes`` on the clinic-local ``date``, in UTC: in the
    professional's working hours and the clinic's opening hours, never on a closure, around
    the professional's appointments and time off (and the chair's appointments, if given),
    from now on, starting every ``AVAILABILITY_STEP_MINUTES``. Without ``duration_minutes``,
    the clinic's default appointment length.

    The search is bounded: a date in ``SLOT_SEARCH_YEARS`` (``INVALID_TIME_RANGE``) and a
    duration in ``SLOT_MINUTES`` (``INVALID_DURATION``), checked before anything is read.
    A professional or chair this clinic does not have is ``NOT_FOUND``."""
    if not SLOT_SEARCH_YEARS[0] <= date.year <= SLOT_SEARCH_YEARS[1]:
        message = _("A date between 2000 and 2100.")
        raise ValidationError(
            {"date": ValidationError(message, code=SchedulingError.INVALID_TIME_RANGE)}
        )
    if duration_minutes is None:
        duration_minutes = clinic_profile_get().default_appointment_minutes
    if not SLOT_MINUTES[0] <= duration_minutes <= SLOT_MINUTES[1]:
        raise ValidationError(
            {"duration_minutes": ValidationError(
                _("Between 5 minutes and 8 hours."), code=SchedulingError.INVALID_DURATION)}
        )  # fmt: skip
    professional = resource_selectors.professional_get(professional_id=professional_id)
    chair = resource_selectors.chair_get(chair_id=chair_id) if chair_id is not None else None
    return free_slots(
        professional=professional,
        day=date,
        duration=dt.timedelta(minutes=duration_minutes),
        tz=current_timezone(),
        chair=chair,
        now=now or timezone.now(),
        step=dt.timedelta(minutes=settings.AVAILABILITY_STEP_MINUTES),
    )

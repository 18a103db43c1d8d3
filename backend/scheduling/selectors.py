"""Reading the agenda."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core.error_codes import CommonError
from backend.patients import selectors as patient_selectors
from backend.resources import selectors as resource_selectors
from backend.scheduling.models import Appointment


def appointment_list(
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    professional_id: int | None = None,
    chair_id: int | None = None,
    patient_id: int | None = None,
    statuses: list[str] | None = None,
) -> QuerySet[Appointment]:
    """Appointments that overlap ``[since, until)``, in time order. Every role that may see
    the agenda sees all of it."""
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


def appointment_get(*, appointment_id: int | str) -> Appointment:
    try:
        return Appointment.objects.select_related("professional").get(pk=int(appointment_id))
    except (Appointment.DoesNotExist, ValueError, TypeError):
        raise ValidationError(_("No such appointment."), code=CommonError.NOT_FOUND) from None


def is_own_appointment(user: User, appointment: Appointment) -> bool:
    """Whether ``user`` is the professional the appointment is booked with."""
    return appointment.professional.user_id == user.pk

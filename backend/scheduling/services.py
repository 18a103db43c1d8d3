"""Booking, rescheduling, status changes and cancellations.

Every booking is checked here for friendly errors (past, working hours, overlap), and the
exclusion constraints in PostgreSQL refuse whatever races past the checks: of many parallel
bookings of one slot, exactly one commits and the others get ``APPOINTMENT_OVERLAP``.

Lock order. Two transactions that insert conflicting rows at the same moment can deadlock
inside the exclusion check: each finds the other's uncommitted row and waits for it
(``deadlock detected … while checking exclusion constraint``). So every write that leaves
an appointment active first locks the rows it can conflict through: the appointment itself
(when it exists), then its professionals, then its chairs, each kind in id order
(``_lock_resources``). Two bookings that could conflict share a professional or a chair, so
the second waits for the first to commit before it checks and inserts, and the wait can never
form a cycle. ``FOR NO KEY UPDATE`` conflicts with itself but not with the key-share locks
that inserting rows referencing the professional or chair take. ``@atomic_service`` runs the
whole transaction again should a deadlock happen anyway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.accounts.roles import role_has_permission
from backend.audit.services import audit_record, diff
from backend.clinic_admin.selectors import calendar_share_lock
from backend.core.error_codes import Forbidden
from backend.core.errors import field_error, save_refusing
from backend.core.transactions import atomic_service
from backend.patients.models import Patient
from backend.resources.models import Chair, Professional
from backend.scheduling.availability import (
    busy_intervals,
    clinic_open_between,
    within_working_hours,
)
from backend.scheduling.errors import SchedulingError
from backend.scheduling.hooks import AppointmentEvent, appointment_changed
from backend.scheduling.models import (
    INACTIVE_STATUSES,
    MAX_DURATION,
    Appointment,
    AppointmentStatus,
)
from backend.scheduling.permissions import SchedulingPermission
from backend.scheduling.selectors import is_own_appointment
from tenants_core.context import current_timezone

S = AppointmentStatus
# The legal moves. A patient may arrive without having confirmed, hence SCHEDULED→CHECKED_IN.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.SCHEDULED: frozenset({S.CONFIRMED, S.CHECKED_IN, S.CANCELLED, S.NO_SHOW}),
    S.CONFIRMED: frozenset({S.CHECKED_IN, S.CANCELLED, S.NO_SHOW}),
    S.CHECKED_IN: frozenset({S.IN_PROGRESS, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.NO_SHOW: frozenset(),
}
RESCHEDULABLE = frozenset({S.SCHEDULED, S.CONFIRMED})


def _local_range(starts_at: dt.datetime, ends_at: dt.datetime) -> str:
    tz = current_timezone()
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"


def _text(value: str | None, field: str, max_length: int = 300) -> str:
    value = (value or "").strip()
    if len(value) > max_length:
        raise field_error(
            field, _("At most %(max)d characters.") % {"max": max_length}, SchedulingError.TOO_LONG
        )
    return value


def _check_times(starts_at: dt.datetime, ends_at: dt.datetime, *, now: dt.datetime) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise field_error(
            "starts_at", _("Give times with their UTC offset."), SchedulingError.INVALID_TIME_RANGE
        )
    if ends_at <= starts_at:
        raise field_error(
            "ends_at",
            _("The appointment must end after it starts."),
            SchedulingError.INVALID_TIME_RANGE,
        )
    if ends_at - starts_at > MAX_DURATION:
        raise field_error(
            "ends_at", _("An appointment lasts at most 8 hours."), SchedulingError.DURATION_TOO_LONG
        )
    if starts_at < now:
        raise field_error("starts_at", _("This time is in the past."), SchedulingError.IN_THE_PAST)


def _lock_resources(
    professional_ids: Iterable[int], chair_ids: Iterable[int]
) -> tuple[dict[int, Professional], dict[int, Chair]]:
    """Lock the professionals' rows, then the chairs' rows, each in id order, until the
    transaction ends; return them as they are now (a deactivation committed meanwhile shows)."""
    professionals = {
        row.pk: row
        for row in Professional.objects.select_for_update(no_key=True)
        .filter(pk__in=set(professional_ids))
        .order_by("pk")
    }
    chairs = {
        row.pk: row
        for row in Chair.objects.select_for_update(no_key=True)
        .filter(pk__in=set(chair_ids))
        .order_by("pk")
    }
    return professionals, chairs


def _check_parties(patient: Patient, professional: Professional, chair: Chair) -> None:
    if patient.is_archived:
        raise field_error(
            "patient_id", _("This patient is archived."), SchedulingError.PATIENT_ARCHIVED
        )
    if not professional.is_active:
        raise field_error(
            "professional_id",
            _("This professional is inactive."),
            SchedulingError.INACTIVE_RESOURCE,
        )
    if not chair.is_active:
        raise field_error(
            "chair_id", _("This chair is inactive."), SchedulingError.INACTIVE_RESOURCE
        )


def _overlap_error(appointment: Appointment) -> ValidationError:
    """Name the appointment that holds the slot, in clinic-local time."""
    busy = busy_intervals(
        professional=appointment.professional,
        chair=appointment.chair,
        start=appointment.starts_at,
        end=appointment.ends_at,
        exclude_appointment_id=appointment.pk,
    )
    when = (
        _local_range(*busy[0]) if busy else _local_range(appointment.starts_at, appointment.ends_at)
    )
    return field_error(
        "starts_at",
        _("The professional or the chair is already booked at %(when)s.") % {"when": when},
        SchedulingError.APPOINTMENT_OVERLAP,
    )


def _check_slot(appointment: Appointment) -> None:
    calendar_share_lock()  # a closure or new hours being saved now is waited for
    if not clinic_open_between(appointment.starts_at, appointment.ends_at, current_timezone()):
        raise field_error(
            "starts_at",
            _("The clinic is closed at this time (outside its opening hours or on a closure)."),
            SchedulingError.CLINIC_CLOSED,
        )
    if not within_working_hours(
        appointment.professional, appointment.starts_at, appointment.ends_at, current_timezone()
    ):
        raise field_error(
            "starts_at",
            _("This time is outside the professional's working hours or during their time off."),
            SchedulingError.OUTSIDE_WORKING_HOURS,
        )
    if busy_intervals(
        professional=appointment.professional,
        chair=appointment.chair,
        start=appointment.starts_at,
        end=appointment.ends_at,
        exclude_appointment_id=appointment.pk,
    ):
        raise _overlap_error(appointment)


def _check_may_change_status(actor: User, appointment: Appointment) -> None:
    """Whoever manages the agenda changes any appointment; anyone else (a dentist, with
    ``agenda.change_own_status``) only the appointments booked with themselves."""
    if not role_has_permission(
        actor.role, SchedulingPermission.MANAGE_AGENDA
    ) and not is_own_appointment(actor, appointment):
        raise Forbidden("not the appointment's professional, and may not manage the agenda")


def _save(appointment: Appointment, **kwargs) -> None:
    # Another booking committed between our check and our insert.
    overlap = partial(_overlap_error, appointment)
    save_refusing(
        partial(appointment.save, **kwargs),
        {
            "appointment_no_professional_overlap": overlap,
            "appointment_no_chair_overlap": overlap,
        },
    )


@atomic_service
def appointment_schedule(
    *,
    actor: User | None,
    patient: Patient,
    professional: Professional,
    chair: Chair,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reason: str = "",
    notes: str = "",
    now: dt.datetime | None = None,
    actor_label: str = "",
) -> Appointment:
    """Book ``patient`` with ``professional`` in ``chair`` for ``[starts_at, ends_at)``.
    ``actor_label`` names who acted when no staff user did (the patient, through the
    assistant)."""
    _check_times(starts_at, ends_at, now=now or timezone.now())
    professionals, chairs = _lock_resources([professional.pk], [chair.pk])
    professional, chair = professionals[professional.pk], chairs[chair.pk]
    _check_parties(patient, professional, chair)
    appointment = Appointment(
        patient=patient,
        professional=professional,
        chair=chair,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=_text(reason, "reason"),
        notes=_text(notes, "notes", 5000),
        created_by=actor,
    )
    _check_slot(appointment)
    _save(appointment)
    appointment_changed(appointment, AppointmentEvent.SCHEDULED)
    audit_record(
        actor=actor,
        actor_email=actor_label,
        action="appointment.schedule",
        entity=appointment,
        changes={
            "patient_id": patient.pk,
            "professional_id": professional.pk,
            "chair_id": chair.pk,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "reason": appointment.reason,
        },
    )
    return appointment


@atomic_service
def appointment_reschedule(
    *,
    actor: User | None,
    appointment: Appointment,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    professional: Professional | None = None,
    chair: Chair | None = None,
    now: dt.datetime | None = None,
    actor_label: str = "",
) -> Appointment:
    """Move a scheduled or confirmed appointment; it needs confirming again."""
    # Only the appointment's row: FOR UPDATE over the join would also lock the professional
    # and the chair, out of the order below and against every booking that references them.
    # NO KEY: rows that reference the appointment (a note) may still be inserted meanwhile.
    appointment = (
        Appointment.objects.select_for_update(of=("self",), no_key=True)
        .select_related("patient", "professional", "chair")
        .get(pk=appointment.pk)
    )
    if appointment.status not in RESCHEDULABLE:
        raise field_error(
            None,
            _("A %(status)s appointment cannot be rescheduled.")
            % {"status": appointment.get_status_display()},
            SchedulingError.INVALID_TRANSITION,
        )
    _check_times(starts_at, ends_at, now=now or timezone.now())
    professional_id = professional.pk if professional else appointment.professional_id
    chair_id = chair.pk if chair else appointment.chair_id
    # The old ones too: until this commits, bookings of the old slot wait for it.
    professionals, chairs = _lock_resources(
        [professional_id, appointment.professional_id], [chair_id, appointment.chair_id]
    )
    professional, chair = professionals[professional_id], chairs[chair_id]
    _check_parties(appointment.patient, professional, chair)
    before = {
        "starts_at": appointment.starts_at.isoformat(),
        "ends_at": appointment.ends_at.isoformat(),
        "professional_id": appointment.professional_id,
        "chair_id": appointment.chair_id,
        "status": appointment.status,
    }
    appointment.starts_at, appointment.ends_at = starts_at, ends_at
    appointment.professional, appointment.chair = professional, chair
    appointment.status = S.SCHEDULED
    appointment.updated_at = timezone.now()
    _check_slot(appointment)
    _save(appointment)
    after = {
        "starts_at": starts_at.isoformat(),
        "ends_at": ends_at.isoformat(),
        "professional_id": professional.pk,
        "chair_id": chair.pk,
        "status": appointment.status,
    }
    appointment_changed(appointment, AppointmentEvent.RESCHEDULED)
    audit_record(
        actor=actor,
        actor_email=actor_label,
        action="appointment.reschedule",
        entity=appointment,
        changes=diff(before, after),
    )
    return appointment


@atomic_service
def appointment_change_status(
    *, actor: User, appointment: Appointment, status: str, reason: str = ""
) -> Appointment:
    """Move an appointment along its lifecycle; anything else is ``INVALID_TRANSITION``.
    Cancelling needs a reason. ``Forbidden`` unless the actor manages the agenda or is the
    professional the appointment is booked with."""
    _check_may_change_status(actor, appointment)
    appointment = Appointment.objects.select_for_update(no_key=True).get(pk=appointment.pk)
    changes = _change_status(appointment, status, reason)
    audit_record(
        actor=actor, action="appointment.change_status", entity=appointment, changes=changes
    )
    return appointment


def _change_status(appointment: Appointment, status: str, reason: str) -> dict[str, Any]:
    """Apply a legal move to the locked ``appointment``; the audit changes."""
    status = AppointmentStatus(status)
    if status not in TRANSITIONS[appointment.status]:
        raise field_error(
            "status",
            _("An appointment cannot go from %(from)s to %(to)s.")
            % {"from": appointment.get_status_display(), "to": status.label},
            SchedulingError.INVALID_TRANSITION,
        )
    reason = _text(reason, "reason")
    if status == S.CANCELLED and not reason:
        raise field_error(
            "reason", _("Say why the appointment is cancelled."), SchedulingError.REASON_REQUIRED
        )
    if status not in INACTIVE_STATUSES:
        # The updated row is checked against the exclusion constraints again: same lock order.
        _lock_resources([appointment.professional_id], [appointment.chair_id])
    before = {"status": appointment.status}
    appointment.status = status
    update_fields = ["status", "updated_at"]
    if status == S.CANCELLED:
        appointment.cancellation_reason = reason
        update_fields.append("cancellation_reason")
    appointment.updated_at = timezone.now()
    appointment.save(update_fields=update_fields)
    appointment_changed(appointment, AppointmentEvent.STATUS_CHANGED)
    changes: dict[str, Any] = diff(before, {"status": str(status)})
    if reason:
        changes["reason"] = reason
    return changes


def appointment_cancel(*, actor: User, appointment: Appointment, reason: str) -> Appointment:
    """Cancel with a reason; the slot is free again at once. The same rule as every status
    change: only the agenda's managers, or the appointment's own professional."""
    return appointment_change_status(
        actor=actor, appointment=appointment, status=S.CANCELLED, reason=reason
    )


PATIENT_ANSWERS = {True: S.CONFIRMED, False: S.CANCELLED}


@atomic_service
def appointment_patient_respond(
    *,
    appointment: Appointment,
    confirm: bool,
    via: str,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Appointment:
    """The patient confirms (``confirm=True``) or cancels their own appointment, by a reply or
    a signed link (``via`` says which: "whatsapp", "sms", "link"…). No staff user acts: the
    audit event names the patient and the channel. Only an upcoming SCHEDULED or CONFIRMED
    appointment can be answered; confirming twice is a no-op. A cancellation frees the slot at
    once, with ``reason`` (or a default one) recorded."""
    appointment = Appointment.objects.select_for_update(no_key=True).get(pk=appointment.pk)
    now = now or timezone.now()
    target = PATIENT_ANSWERS[confirm]
    if appointment.status == target == S.CONFIRMED:
        return appointment
    if appointment.status not in RESCHEDULABLE or appointment.starts_at <= now:
        raise field_error(
            None,
            _("This appointment can no longer be confirmed or cancelled here; call the clinic."),
            SchedulingError.INVALID_TRANSITION,
        )
    if not confirm:
        reason = _text(reason, "reason") or _("Cancelled by the patient (%(via)s).") % {"via": via}
    changes = _change_status(appointment, target, reason)
    changes["via"] = via
    audit_record(
        actor=None,
        actor_email=f"patient:{appointment.patient_id}",
        action="appointment.patient_respond",
        entity=appointment,
        changes=changes,
    )
    return appointment

"""The assistant's tools: the only way it reads or changes anything.

The deterministic engine and the optional language model call the same functions, with the
same session. A tool acts as the conversation's verified patient, or as an anonymous visitor:
it never takes a patient from its arguments, so no argument (typed by a visitor, or chosen by a
model) reaches another patient's data. Arguments are input: a bad or foreign one is a
``ToolRefused`` with a code, never an exception that escapes.

Slots and appointments are named by opaque references that earlier results gave out:
``slot:<professional id>:<UTC start, epoch seconds>:<minutes>`` and ``appointment:<id>``. A slot
reference is re-checked against the real availability when it is used, so a forged one books
nothing that the availability would not offer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from backend.assistant.models import (
    Conversation,
    ConversationStatus,
    HandoffReason,
    VerificationCode,
)
from backend.audit.services import audit_record
from backend.clinic_admin.selectors import clinic_profile_get, opening_calendar, opening_shift_list
from backend.core.contacts import normalize_phone
from backend.patients.models import DocumentType, Patient
from backend.resources.models import Chair, Professional
from backend.scheduling.availability import free_slots as availability_free_slots
from backend.scheduling.availability import free_slots_by_day as availability_by_day
from backend.scheduling.models import INACTIVE_STATUSES, Appointment
from backend.scheduling.services import (
    RESCHEDULABLE,
    appointment_patient_respond,
    appointment_reschedule,
    appointment_schedule,
)
from backend.treatments.models import Procedure
from tenants_core.context import current_clinic, current_timezone

MAX_SLOTS = 6
MAX_SEARCH_DAYS = 14
MAX_AHEAD_DAYS = 366  # a date further ahead is offered nothing (and never overflows)
CODE_DIGITS = 6
CODE_MINUTES = 10
CODE_MAX_ATTEMPTS = 5
CODES_PER_CONVERSATION = 3
# Codes one patient may be sent per hour, all conversations together: nobody can flood a
# patient's phone by opening conversation after conversation with their DNI.
CODES_PER_PATIENT = 5
PARTS_OF_DAY = {
    "morning": (dt.time(6), dt.time(12)),
    "afternoon": (dt.time(12), dt.time(19)),
    "evening": (dt.time(18), dt.time(23)),
}


class ToolRefused(Exception):
    """A tool refused its arguments or the session's right to call it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class ToolSession:
    """Who the tools act for: the conversation's verified patient, or an anonymous visitor."""

    conversation: Conversation
    now: dt.datetime
    language: str = "es"
    ip: str | None = None

    @property
    def verified_patient(self) -> Patient | None:
        conversation = self.conversation
        if conversation.patient_id is None or conversation.verified_at is None:
            return None
        lapse = dt.timedelta(minutes=settings.ASSISTANT_VERIFIED_MINUTES)
        if self.now - conversation.verified_at > lapse:
            return None
        return conversation.patient

    @property
    def actor_label(self) -> str:
        patient = self.verified_patient
        if patient is not None:
            return f"patient:{patient.pk} (assistant {self.conversation.pk})"
        return f"visitor (assistant {self.conversation.pk})"


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    run: Callable[[ToolSession, dict[str, Any]], dict[str, Any]]


# --- helpers ---------------------------------------------------------------------------------


def _text_arg(arguments: Mapping[str, Any], name: str, *, required: bool = False) -> str:
    value = arguments.get(name)
    if value is None or value == "":
        if required:
            raise ToolRefused("BAD_ARGUMENT", f"{name} is required.")
        return ""
    if not isinstance(value, str) or len(value) > 200:
        raise ToolRefused("BAD_ARGUMENT", f"{name} must be a short text.")
    return value.strip()


def _date_arg(arguments: Mapping[str, Any], name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(_text_arg(arguments, name, required=True))
    except ValueError as error:
        raise ToolRefused("BAD_ARGUMENT", f"{name} must be an ISO date.") from error


def _time_arg(arguments: Mapping[str, Any], name: str) -> dt.time | None:
    value = _text_arg(arguments, name)
    if not value:
        return None
    try:
        return dt.time.fromisoformat(value)
    except ValueError as error:
        raise ToolRefused("BAD_ARGUMENT", f"{name} must be HH:MM.") from error


def _int_arg(arguments: Mapping[str, Any], name: str) -> int | None:
    value = arguments.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ToolRefused("BAD_ARGUMENT", f"{name} must be a number.")
    try:
        number = int(value)
    except ValueError as error:
        raise ToolRefused("BAD_ARGUMENT", f"{name} must be a number.") from error
    if not 0 < number < 2**31:
        raise ToolRefused("BAD_ARGUMENT", f"{name} is out of range.")
    return number


def price_text(amount: Decimal, currency: str) -> str:
    """ "S/ 80.00" for soles, "USD 80.00" otherwise."""
    prefix = "S/" if currency == "PEN" else currency
    return f"{prefix} {amount:.2f}"


def local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(current_timezone())


def slot_ref(professional_id: int, starts_at: dt.datetime, minutes: int) -> str:
    return f"slot:{professional_id}:{int(starts_at.timestamp())}:{minutes}"


def _slot_parse(ref: str) -> tuple[int, dt.datetime, int]:
    try:
        kind, professional, start, minutes = ref.split(":")
        if kind != "slot":
            raise ValueError(ref)
        starts_at = dt.datetime.fromtimestamp(int(start), tz=dt.UTC)
        return int(professional), starts_at, int(minutes)
    except (ValueError, OverflowError, OSError) as error:
        raise ToolRefused("BAD_ARGUMENT", "Not a slot reference.") from error


def _professional_names() -> dict[int, str]:
    return dict(Professional.objects.filter(is_active=True).values_list("id", "full_name"))


# --- information -----------------------------------------------------------------------------


def clinic_info(session: ToolSession, arguments: dict[str, Any]) -> dict[str, Any]:
    """The clinic's name, address, directions, phones and weekly opening hours."""
    profile = clinic_profile_get()
    today = local(session.now).date()
    calendar = opening_calendar(since=today, until=today + dt.timedelta(days=30))
    return {
        "name": current_clinic().name,
        "address": profile.address_text,
        "directions": profile.reference,
        "phone": profile.phone,
        "whatsapp": profile.whatsapp,
        "email": profile.email,
        "hours": [
            {
                "weekday": shift.weekday,
                "opens": shift.opens_at.strftime("%H:%M"),
                "closes": shift.closes_at.strftime("%H:%M"),
            }
            for shift in opening_shift_list()
        ],
        "closures": [
            {"first": first.isoformat(), "last": last.isoformat()}
            for first, last in calendar.closures
        ],
    }


def price_list(session: ToolSession, arguments: dict[str, Any]) -> dict[str, Any]:
    """The active procedures of the catalog with their prices, optionally only ``ids``."""
    procedures = Procedure.objects.filter(is_active=True).order_by("category", "name")
    ids = arguments.get("ids")
    if ids is not None:
        if not isinstance(ids, list) or len(ids) > 50:
            raise ToolRefused("BAD_ARGUMENT", "ids must be a list of numbers.")
        procedures = procedures.filter(pk__in=[_int_arg({"id": i}, "id") for i in ids])
    return {
        "procedures": [
            {
                "id": procedure.pk,
                "name": procedure.name,
                "price": price_text(procedure.default_price, procedure.currency),
                "amount": str(procedure.default_price),
                "currency": procedure.currency,
                "minutes": procedure.default_duration_minutes,
            }
            for procedure in procedures[:200]
        ]
    }


# --- availability and booking ----------------------------------------------------------------


def _duration(procedure_id: int | None) -> int:
    if procedure_id is not None:
        minutes = (
            Procedure.objects.filter(pk=procedure_id, is_active=True)
            .values_list("default_duration_minutes", flat=True)
            .first()
        )
        if minutes is None:
            raise ToolRefused("NOT_FOUND", "No such procedure.")
        return max(5, min(480, int(minutes)))
    return clinic_profile_get().default_appointment_minutes


def _chairs_free(starts_at: dt.datetime, ends_at: dt.datetime) -> list[int]:
    return _ChairBook(starts_at, ends_at).free(starts_at, ends_at)


class _ChairBook:
    """The active chairs and their bookings over a range, read once (two statements), so
    that checking each offered slot for a free chair costs nothing more."""

    def __init__(self, since: dt.datetime, until: dt.datetime) -> None:
        self.chairs = list(
            Chair.objects.filter(is_active=True).order_by("name", "id").values_list("pk", flat=True)
        )
        self.busy = list(
            Appointment.objects.filter(starts_at__lt=until, ends_at__gt=since)
            .exclude(status__in=INACTIVE_STATUSES)
            .values_list("chair_id", "starts_at", "ends_at")
        )

    def free(self, starts_at: dt.datetime, ends_at: dt.datetime) -> list[int]:
        """The chairs free over ``[starts_at, ends_at)``, by name."""
        taken = {chair for chair, start, end in self.busy if start < ends_at and end > starts_at}
        return [chair for chair in self.chairs if chair not in taken]


def find_slots(
    session: ToolSession,
    *,
    first: dt.date,
    last: dt.date,
    start: dt.time | None = None,
    end: dt.time | None = None,
    professional_id: int | None = None,
    procedure_id: int | None = None,
    minutes: int | None = None,
    limit: int = MAX_SLOTS,
) -> list[dict[str, Any]]:
    """Free slots from ``first`` to ``last`` (clinic-local), within ``[start, end]`` of the
    day when given (an exact time: ``start == end``, then the nearest slots), spread over
    the day: at most one per starting time, earliest days first."""
    today = local(session.now).date()
    first = max(first, today)
    if last < first or first > today + dt.timedelta(days=MAX_AHEAD_DAYS):
        return []
    last = min(last, first + dt.timedelta(days=MAX_SEARCH_DAYS - 1))
    minutes = minutes or _duration(procedure_id)
    professionals = Professional.objects.filter(is_active=True).order_by("full_name", "id")
    if professional_id is not None:
        professionals = professionals.filter(pk=professional_id)
    professionals_list = list(professionals)
    if not professionals_list:
        return []
    tz = current_timezone()
    calendar = opening_calendar(since=first, until=last)
    chairs = _ChairBook(
        dt.datetime.combine(first, dt.time(0), tzinfo=tz),
        dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=tz),
    )
    found: list[dict[str, Any]] = []
    by_day = availability_by_day(
        professionals=professionals_list,
        first=first,
        last=last,
        duration=dt.timedelta(minutes=minutes),
        tz=tz,
        now=session.now,
        step=dt.timedelta(minutes=settings.AVAILABILITY_STEP_MINUTES),
        calendar=calendar,
    )
    names = {professional.pk: professional for professional in professionals_list}
    day = first
    while day <= last and len(found) < limit:
        by_start: dict[dt.datetime, Professional] = {}
        for pk, intervals in by_day[day].items():
            for slot_start, _slot_end in intervals:
                starts_local = slot_start.astimezone(tz).time()
                if (
                    start is not None
                    and end is not None
                    and start != end
                    and not start <= starts_local < end
                ):
                    continue
                by_start.setdefault(slot_start, names[pk])
        starts = sorted(by_start)
        if start is not None and start == end and starts:
            wanted = dt.datetime.combine(day, start, tzinfo=tz)
            starts.sort(key=lambda moment: (abs((moment - wanted).total_seconds()), moment))
            starts = sorted(starts[: limit - len(found)])
        else:
            starts = _spread(starts, limit - len(found))
        for starts_at in starts:
            ends_at = starts_at + dt.timedelta(minutes=minutes)
            if not chairs.free(starts_at, ends_at):
                continue
            professional = by_start[starts_at]
            found.append(
                {
                    "slot": slot_ref(professional.pk, starts_at, minutes),
                    "starts_at": local(starts_at).isoformat(),
                    "professional": professional.full_name,
                    "minutes": minutes,
                }
            )
        day += dt.timedelta(days=1)
    return found[:limit]


def _spread(starts: list[dt.datetime], count: int) -> list[dt.datetime]:
    """``count`` starting times spread over the day, not the first ``count`` in a row."""
    if len(starts) <= count:
        return starts
    step = len(starts) / count
    return [starts[int(index * step)] for index in range(count)]


def free_slots(session: ToolSession, arguments: dict[str, Any]) -> dict[str, Any]:
    first = _date_arg(arguments, "date_from")
    last = _date_arg(arguments, "date_to") if arguments.get("date_to") else first
    part = _text_arg(arguments, "part_of_day")
    start, end = PARTS_OF_DAY.get(part, (None, None))
    if part and part not in PARTS_OF_DAY:
        raise ToolRefused("BAD_ARGUMENT", "part_of_day is morning, afternoon or evening.")
    exact = _time_arg(arguments, "time")
    if exact is not None:
        start = end = exact
    return {
        "slots": find_slots(
            session,
            first=first,
            last=last,
            start=start,
            end=end,
            professional_id=_int_arg(arguments, "professional"),
            procedure_id=_int_arg(arguments, "procedure"),
        )
    }


def _slot_check(
    session: ToolSession, ref: str, allowed: set[int]
) -> tuple[Professional, dt.datetime, dt.datetime]:
    """The slot named by ``ref``, if it has one of the ``allowed`` lengths and the
    availability offers it now; else ``BAD_ARGUMENT`` or ``SLOT_TAKEN``."""
    professional_id, starts_at, minutes = _slot_parse(ref)
    if minutes not in allowed:
        raise ToolRefused("BAD_ARGUMENT", "Not a slot reference.")
    professional = Professional.objects.filter(pk=professional_id, is_active=True).first()
    if professional is None:
        raise ToolRefused("NOT_FOUND", "No such professional.")
    tz = current_timezone()
    day = starts_at.astimezone(tz).date()
    offered = availability_free_slots(
        professional=professional,
        day=day,
        duration=dt.timedelta(minutes=minutes),
        tz=tz,
        now=session.now,
        step=dt.timedelta(minutes=settings.AVAILABILITY_STEP_MINUTES),
    )
    if not any(interval[0] == starts_at for interval in offered):
        raise ToolRefused("SLOT_TAKEN", "That time is no longer free.")
    return professional, starts_at, starts_at + dt.timedelta(minutes=minutes)


def _schedule(
    session: ToolSession,
    patient: Patient,
    professional: Professional,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
) -> Appointment:
    for chair_id in _chairs_free(starts_at, ends_at):
        try:
            with transaction.atomic():
                return appointment_schedule(
                    actor=None,
                    actor_label=session.actor_label,
                    patient=patient,
                    professional=professional,
                    chair=Chair.objects.get(pk=chair_id),
                    starts_at=starts_at,
                    ends_at=ends_at,
                    reason=_("Booked by the patient through the assistant"),
                    now=session.now,
                )
        except ValidationError as error:
            codes = {code for codes in _codes(error) for code in codes}
            if "APPOINTMENT_OVERLAP" in codes:  # that chair was just taken: try the next
                continue
            raise _refusal(error) from error
    raise ToolRefused("SLOT_TAKEN", "That time is no longer free.")


def _codes(error: ValidationError) -> list[list[str]]:
    if hasattr(error, "error_dict"):
        return [[e.code or "" for e in errors] for errors in error.error_dict.values()]
    return [[e.code or "" for e in error.error_list]]


def _refusal(error: ValidationError) -> ToolRefused:
    codes = [code for codes in _codes(error) for code in codes if code]
    return ToolRefused(codes[0] if codes else "INVALID", " ".join(error.messages))


def _new_patient(session: ToolSession, arguments: dict[str, Any]) -> Patient:
    """The patient a visitor books for: a new record, or the existing one when the document
    and the phone both match it (the reminders go to that phone). A document on file with
    another phone is refused like any other mismatch, without saying whose it is."""
    from backend.patients.services import patient_create
    from backend.patients.validators import validate_document

    first_name = _text_arg(arguments, "first_name", required=True)
    last_name = _text_arg(arguments, "last_name", required=True)
    try:
        dni = validate_document(DocumentType.DNI, _text_arg(arguments, "dni", required=True))
        phone = normalize_phone(_text_arg(arguments, "phone", required=True))
    except ValidationError as error:
        raise _refusal(error) from error
    existing = Patient.objects.filter(
        document_type=DocumentType.DNI, document_number=dni, is_archived=False
    ).first()
    if existing is not None:
        if existing.phone and existing.phone == phone:
            return existing
        raise ToolRefused("IDENTITY_MISMATCH", "These details do not match; a person will help.")
    try:
        with transaction.atomic():
            return patient_create(
                actor=None,
                actor_label=session.actor_label,
                data={
                    "first_name": first_name,
                    "last_name": last_name,
                    "document_type": DocumentType.DNI,
                    "document_number": dni,
                    "phone": phone,
                },
            )
    except ValidationError as error:
        raise _refusal(error) from error


def book(session: ToolSession, arguments: dict[str, Any]) -> dict[str, Any]:
    """Book ``slot`` for the verified patient, or for the visitor's details (a new patient)."""
    ref = _text_arg(arguments, "slot", required=True)
    conversation = session.conversation
    anonymous = session.verified_patient is None
    if anonymous:
        _check_visitor_bookings(session)
    try:
        with transaction.atomic():
            professional, starts_at, ends_at = _slot_check(session, ref, _allowed_minutes())
            patient = session.verified_patient or _new_patient(session, arguments)
            appointment = _schedule(session, patient, professional, starts_at, ends_at)
            if anonymous:
                # Only now: a refusal above rolls the new patient back, and nothing may
                # point at it.
                conversation.patient = patient
                conversation.save(update_fields=["patient"])
            audit_record(
                actor=None,
                actor_email=session.actor_label,
                action="assistant.book",
                entity=appointment,
                changes={"conversation_id": conversation.pk, "verified": not anonymous},
            )
    except ToolRefused as refusal:
        if refusal.code == "IDENTITY_MISMATCH":
            # Outside the rolled-back block: staff see someone trying documents not theirs.
            audit_record(
                actor=None,
                actor_email=session.actor_label,
                action="assistant.identity_mismatch",
                entity=conversation,
            )
        raise
    return {"appointment": _appointment_view(appointment, professional.full_name)}


def _check_visitor_bookings(session: ToolSession) -> None:
    """An anonymous visitor books once per conversation, and an address registers at most
    ``ASSISTANT_VISITOR_BOOKINGS_PER_DAY`` such bookings a day: nobody fills the clinic's
    patients or agenda with made-up people. More goes through a person, or verification."""
    conversation = session.conversation
    if conversation.patient_id is not None:
        raise ToolRefused("BOOKING_LIMIT", "One booking per conversation; verify for more.")
    if session.ip:
        since = session.now - dt.timedelta(days=1)
        booked = (
            Conversation.objects.filter(
                patient__isnull=False,
                verified_at__isnull=True,
                created_at__gte=since,
                messages__ip=session.ip,
            )
            .distinct()
            .count()
        )
        if booked >= settings.ASSISTANT_VISITOR_BOOKINGS_PER_DAY:
            raise ToolRefused("BOOKING_LIMIT", "Too many bookings from this address today.")


def _allowed_minutes() -> set[int]:
    """The lengths a booking may have: the clinic's default and its procedures'."""
    minutes = set(
        Procedure.objects.filter(is_active=True).values_list("default_duration_minutes", flat=True)
    )
    return {int(m) for m in minutes} | {clinic_profile_get().default_appointment_minutes}


def _appointment_view(appointment: Appointment, professional: str) -> dict[str, Any]:
    return {
        "appointment": f"appointment:{appointment.pk}",
        "starts_at": local(appointment.starts_at).isoformat(),
        "professional": professional,
        "professional_id": appointment.professional_id,
        "minutes": int((appointment.ends_at - appointment.starts_at).total_seconds() // 60),
        "status": appointment.status,
    }


def _own_upcoming(session: ToolSession) -> list[Appointment]:
    patient = session.verified_patient
    if patient is None:
        raise ToolRefused("NOT_VERIFIED", "Verify the patient's identity first.")
    return list(
        Appointment.objects.filter(
            patient=patient, starts_at__gt=session.now, status__in=RESCHEDULABLE
        )
        .select_related("professional")
        .order_by("starts_at")[:10]
    )


def my_appointments(session: ToolSession, arguments: dict[str, Any]) -> dict[str, Any]:
    """The verified patient's upcoming appointments."""
    return {
        "appointments": [
            _appointment_view(appointment, appointment.professional.full_name)
            for appointment in _own_upcoming(session)
        ]
    }


def _own(session: ToolSession, arguments: dict[str, Any]) -> Appointment:
    ref = _text_arg(arguments, "appointment", required=True)
    kind, _sep, number = ref.partition(":")
    own = {str(appointment.pk): appointment for appointment in _own_upcoming(session)}
    if kind != "appointment" or number not in own:
        # The same answer whether it exists for someone else or not at all.
        raise ToolRefused("NOT_FOUND", "No such appointment of this patient.")
    return own[number]


def cancel_appointment(session: ToolSession, arguments: dict[str, Any]) -> dict[str, Any]:
    """Cancel one of the verified patient's upcoming appointments."""
    appointment = _own(session, arguments)
    try:
        with transaction.atomic():
            appointment = appointment_patient_respond(
                appointment=appointment, confirm=False, via="assistant", now=session.now
            )
    except ValidationError as error:
        raise _refusal(error) from error
    return {"appointment": _appointment_view(appointment, appointment.professional.full_name)}


def confirm_appointment(session: ToolSession, arguments: dict[str, Any]) -> dict[str, Any]:
    """Confirm one of the verified patient's upcoming appointments."""
    appointment = _own(session, arguments)
    try:
        with transaction.atomic():
            appointment = appointment_patient_respond(
                appointment=appointment,
                confirm=True,
                via=session.conversation.channel.lower(),
                now=session.now,
            )
    except ValidationError as error:
        raise _refusal(error) from error
    return {"appointment": _appointment_view(appointment, appointment.professional.full_name)}


def reschedule_appointment(session: ToolSession, arguments: dict[str, Any]) -> dict[str, Any]:
    """Move one of the verified patient's upcoming appointments to a free slot."""
    appointment = _own(session, arguments)
    ref = _text_arg(arguments, "slot", required=True)
    own_minutes = int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
    with transaction.atomic():
        professional, starts_at, ends_at = _slot_check(session, ref, {own_minutes})
        chairs = [appointment.chair_id, *_chairs_free(starts_at, ends_at)]
        last_error: ValidationError | None = None
        for chair_id in dict.fromkeys(chairs):
            try:
                with transaction.atomic():
                    moved = appointment_reschedule(
                        actor=None,
                        actor_label=session.actor_label,
                        appointment=appointment,
                        starts_at=starts_at,
                        ends_at=ends_at,
                        professional=professional,
                        chair=Chair.objects.get(pk=chair_id),
                        now=session.now,
                    )
                break
            except ValidationError as error:
                last_error = error
        else:
            raise (
                _refusal(last_error)
                if last_error
                else ToolRefused("SLOT_TAKEN", "That time is no longer free.")
            )
    return {"appointment": _appointment_view(moved, professional.full_name)}


# --- identity ----------------------------------------------------------------------------------


def code_hash(conversation: Conversation, code: str) -> str:
    return hashlib.sha256(f"{conversation.public_id}:{code}".encode()).hexdigest()


def send_verification_code(session: ToolSession, arguments: dict[str, Any]) -> dict[str, Any]:
    """Send a one-time code to the phone or email on file of the patient with this DNI. The
    answer is the same whether such a patient exists or not."""
    from backend.notifications.services import verification_code_send
    from backend.patients.validators import validate_document

    try:
        dni = validate_document(DocumentType.DNI, _text_arg(arguments, "dni", required=True))
    except ValidationError as error:
        raise _refusal(error) from error
    conversation = session.conversation
    since = session.now - dt.timedelta(hours=1)
    if (
        VerificationCode.objects.filter(conversation=conversation, created_at__gte=since).count()
        >= CODES_PER_CONVERSATION
    ):
        raise ToolRefused("RATE_LIMITED", "Too many codes; try again later.")
    patient = Patient.objects.filter(
        document_type=DocumentType.DNI, document_number=dni, is_archived=False
    ).first()
    code = "".join(secrets.choice("0123456789") for _i in range(CODE_DIGITS))
    if patient is not None and (
        VerificationCode.objects.filter(patient=patient, created_at__gte=since).count()
        >= CODES_PER_PATIENT
    ):
        patient = None  # answered as for anyone else; no code goes out, none can match
    channel = ""
    if patient is not None:
        notification = verification_code_send(patient=patient, code=code, now=session.now)
        channel = notification.channel if notification is not None else ""
    # A row even when no code went out: the rate limit counts every request alike.
    VerificationCode.objects.create(
        conversation=conversation,
        patient=patient if channel else None,
        code_hash=code_hash(conversation, code) if channel else "",
        channel=channel,
        expires_at=session.now + dt.timedelta(minutes=CODE_MINUTES),
        created_at=session.now,
    )
    audit_record(
        actor=None,
        actor_email=session.actor_label,
        action="assistant.code_send",
        entity=conversation,
        changes={"sent": bool(channel)},
    )
    return {"sent": True, "minutes": CODE_MINUTES}


def check_verification_code(session: ToolSession, arguments: dict[str, Any]) -> dict[str, Any]:
    """Verify the conversation with the latest code sent in it."""
    code = _text_arg(arguments, "code", required=True)
    conversation = session.conversation
    latest = (
        VerificationCode.objects.select_for_update()
        .filter(conversation=conversation, used_at__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )
    if latest is None or latest.expires_at <= session.now or latest.attempts >= CODE_MAX_ATTEMPTS:
        raise ToolRefused("CODE_EXPIRED", "No valid code: ask for a new one.")
    # A request for no patient answers exactly like a wrong code: nothing tells them apart.
    if (
        latest.patient is None
        or not latest.code_hash
        or not (code.isdigit() and len(code) == CODE_DIGITS)
        or not secrets.compare_digest(latest.code_hash, code_hash(conversation, code))
    ):
        latest.attempts += 1
        latest.save(update_fields=["attempts"])
        raise ToolRefused("CODE_WRONG", "That code is not right.")
    latest.used_at = session.now
    latest.save(update_fields=["used_at"])
    verify(session, latest.patient, via="code")
    return {"verified": True}


def verify(session: ToolSession, patient: Patient, *, via: str) -> None:
    conversation = session.conversation
    conversation.patient, conversation.verified_at = patient, session.now
    conversation.save(update_fields=["patient", "verified_at"])
    audit_record(
        actor=None,
        actor_email=f"patient:{patient.pk} (assistant {conversation.pk})",
        action="assistant.verify",
        entity=conversation,
        changes={"via": via},
    )


def hand_off(session: ToolSession, reason: str) -> None:
    """Pass the conversation to a person: the assistant stops answering it."""
    conversation = session.conversation
    if conversation.status in (ConversationStatus.HANDED_OFF, ConversationStatus.TAKEN_OVER):
        return
    conversation.status = ConversationStatus.HANDED_OFF
    conversation.handoff_reason = reason
    conversation.handed_off_at = session.now
    conversation.save(update_fields=["status", "handoff_reason", "handed_off_at"])
    audit_record(
        actor=None,
        actor_email=session.actor_label,
        action="assistant.hand_off",
        entity=conversation,
        changes={"reason": reason},
    )


def hand_off_tool(session: ToolSession, arguments: dict[str, Any]) -> dict[str, Any]:
    reason = _text_arg(arguments, "reason") or HandoffReason.REQUESTED
    if reason not in HandoffReason.values:
        raise ToolRefused("BAD_ARGUMENT", "Unknown reason.")
    hand_off(session, reason)
    return {"handed_off": True}


_DATE = {"type": "string", "description": "ISO date, clinic-local"}
TOOLS: Mapping[str, Tool] = {
    tool.name: tool
    for tool in (
        Tool(
            "clinic_info",
            "The clinic's address, directions, phone numbers and weekly opening hours.",
            {"type": "object", "properties": {}},
            clinic_info,
        ),
        Tool(
            "price_list",
            "The clinic's procedures (services) with their prices.",
            {
                "type": "object",
                "properties": {"ids": {"type": "array", "items": {"type": "integer"}}},
            },
            price_list,
        ),
        Tool(
            "free_slots",
            "Free appointment times between two dates.",
            {
                "type": "object",
                "properties": {
                    "date_from": _DATE,
                    "date_to": _DATE,
                    "part_of_day": {"type": "string", "enum": list(PARTS_OF_DAY)},
                    "time": {"type": "string", "description": "HH:MM, clinic-local"},
                    "professional": {"type": "integer"},
                    "procedure": {"type": "integer"},
                },
                "required": ["date_from"],
            },
            free_slots,
        ),
        Tool(
            "book",
            "Book a slot from free_slots: for the verified patient, or for a new patient "
            "with first_name, last_name, dni and phone.",
            {
                "type": "object",
                "properties": {
                    "slot": {"type": "string"},
                    "first_name": {"type": "string"},
                    "last_name": {"type": "string"},
                    "dni": {"type": "string"},
                    "phone": {"type": "string"},
                },
                "required": ["slot"],
            },
            book,
        ),
        Tool(
            "my_appointments",
            "The verified patient's upcoming appointments.",
            {"type": "object", "properties": {}},
            my_appointments,
        ),
        Tool(
            "cancel_appointment",
            "Cancel one of the verified patient's appointments.",
            {
                "type": "object",
                "properties": {"appointment": {"type": "string"}},
                "required": ["appointment"],
            },
            cancel_appointment,
        ),
        Tool(
            "confirm_appointment",
            "Confirm one of the verified patient's appointments.",
            {
                "type": "object",
                "properties": {"appointment": {"type": "string"}},
                "required": ["appointment"],
            },
            confirm_appointment,
        ),
        Tool(
            "reschedule_appointment",
            "Move one of the verified patient's appointments to a slot from free_slots.",
            {
                "type": "object",
                "properties": {"appointment": {"type": "string"}, "slot": {"type": "string"}},
                "required": ["appointment", "slot"],
            },
            reschedule_appointment,
        ),
        Tool(
            "send_verification_code",
            "Send a one-time code to the phone or email on file of the patient with this DNI.",
            {"type": "object", "properties": {"dni": {"type": "string"}}, "required": ["dni"]},
            send_verification_code,
        ),
        Tool(
            "check_verification_code",
            "Check the one-time code the patient typed.",
            {"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]},
            check_verification_code,
        ),
        Tool(
            "hand_off",
            "Pass the conversation to a person of the clinic.",
            {
                "type": "object",
                "properties": {"reason": {"type": "string", "enum": HandoffReason.values}},
            },
            hand_off_tool,
        ),
    )
}


def tool_run(session: ToolSession, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Run a tool by name; ``ToolRefused`` for an unknown one."""
    tool = TOOLS.get(name)
    if tool is None:
        raise ToolRefused("UNKNOWN_TOOL", f"No tool {name!r}.")
    if not isinstance(arguments, dict):
        raise ToolRefused("BAD_ARGUMENT", "Arguments must be an object.")
    return tool.run(session, arguments)

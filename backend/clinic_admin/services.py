"""Writes on the clinic's profile, opening hours and closures. Each validates everything
before it writes, runs in one transaction and records an audit event.

Lock order: the clinic's public row first (``limits.clinic_lock``, only when the trade name
or the time zone change), then the profile row, which also serialises every change of the
opening hours (the no-overlap rule of shifts is checked under it)."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.audit.services import assign, audit_record, diff
from backend.clinic_admin import validators as v
from backend.clinic_admin.errors import ClinicAdminError
from backend.clinic_admin.models import PROFILE_PK, ClinicClosure, ClinicProfile, OpeningShift
from backend.core import contacts
from backend.core.error_codes import CommonError
from backend.core.errors import field_error
from backend.core.text import validate_line
from tenants_core import services as platform_services
from tenants_core.models import Clinic

MAX_SHIFTS = 50
CLOSURE_YEARS = (2000, 2100)
MAX_CLOSURE_DAYS = 366

# Profile field → how it is validated and normalized.
_PROFILE_FIELDS: dict[str, Any] = {
    "legal_name": lambda value: validate_line(value, max_length=200),
    "address_line": lambda value: validate_line(value, max_length=200),
    "reference": lambda value: validate_line(value, max_length=300),
    "department": lambda value: validate_line(value, max_length=100),
    "province": lambda value: validate_line(value, max_length=100),
    "district": lambda value: validate_line(value, max_length=100),
    "ubigeo": v.validate_ubigeo,
    "phone": contacts.normalize_phone,
    "whatsapp": contacts.normalize_phone,
    "email": contacts.normalize_email,
    "website": v.validate_website,
    "currency": v.validate_currency,
    "default_appointment_minutes": v.validate_appointment_minutes,
    "description": lambda value: v.validate_text(value, max_length=1000),
}
PROFILE_FIELDS = frozenset(_PROFILE_FIELDS)


def _profile_lock() -> ClinicProfile:
    return ClinicProfile.objects.select_for_update().get(pk=PROFILE_PK)


@transaction.atomic
def clinic_profile_update(*, actor: User, clinic: Clinic, data: dict[str, Any]) -> Clinic:
    """Change the fields in ``data`` (the others stay): the profile's, and ``name`` (trade
    name) and ``timezone``, which live on the clinic's public row. Every field is validated
    before anything is written; the errors of all fields come together. Returns the clinic,
    as it is now."""
    unknown = set(data) - PROFILE_FIELDS - {"name", "timezone"}
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    values: dict[str, Any] = {}
    errors: dict[str, ValidationError] = {}
    for field, value in data.items():
        if field in PROFILE_FIELDS:
            try:
                values[field] = _PROFILE_FIELDS[field](value)
            except ValidationError as error:
                errors[field] = error
    if "name" in data or "timezone" in data:
        try:  # checked with the others, so that a form gets every error at once
            platform_services.clinic_identity_validate(
                name=data.get("name"), timezone=data.get("timezone")
            )
        except ValidationError as error:
            errors.update({field: ValidationError(e) for field, e in error.error_dict.items()})
    if errors:
        raise ValidationError(errors)
    if "name" in data or "timezone" in data:
        clinic = platform_services.clinic_identity_update(
            actor=actor, clinic=clinic, name=data.get("name"), timezone=data.get("timezone")
        )
    profile = _profile_lock()
    changes = assign(profile, values)
    if changes:
        profile.updated_at = timezone.now()
        profile.save(update_fields=[*values, "updated_at"])
        audit_record(actor=actor, action="clinic_profile.update", entity=profile, changes=changes)
    return clinic


@dataclass(frozen=True)
class Shift:
    """A weekly opening range: ISO weekday (1 = Monday), local times."""

    weekday: int
    opens_at: dt.time
    closes_at: dt.time


def _label(shift: Shift | OpeningShift) -> str:
    return f"{shift.weekday} {shift.opens_at:%H:%M}-{shift.closes_at:%H:%M}"


def _check_shifts(shifts: list[Shift]) -> list[Shift]:
    if len(shifts) > MAX_SHIFTS:
        raise field_error(
            "shifts",
            _("At most %(max)d opening ranges.") % {"max": MAX_SHIFTS},
            ClinicAdminError.TOO_MANY_SHIFTS,
        )
    for shift in shifts:
        if not 1 <= shift.weekday <= 7:
            raise field_error(
                "shifts", _("A weekday from 1 (Monday) to 7 (Sunday)."),
                ClinicAdminError.INVALID_WEEKDAY,
            )  # fmt: skip
        if shift.opens_at.tzinfo is not None or shift.closes_at.tzinfo is not None:
            raise field_error(
                "shifts", _("Give local times, without an offset."),
                ClinicAdminError.INVALID_TIME_RANGE,
            )  # fmt: skip
        if shift.closes_at <= shift.opens_at:
            raise field_error(
                "shifts",
                _("Each range must close after it opens (%(shift)s).") % {"shift": _label(shift)},
                ClinicAdminError.INVALID_TIME_RANGE,
            )
    ordered = sorted(shifts, key=lambda s: (s.weekday, s.opens_at))
    for previous, shift in itertools.pairwise(ordered):
        if shift.weekday == previous.weekday and shift.opens_at < previous.closes_at:
            raise field_error(
                "shifts",
                _("Two ranges of one day overlap (%(a)s and %(b)s).")
                % {"a": _label(previous), "b": _label(shift)},
                ClinicAdminError.SHIFT_OVERLAP,
            )
    return ordered


@transaction.atomic
def opening_hours_set(*, actor: User, shifts: list[Shift]) -> list[OpeningShift]:
    """Replace the whole week's opening hours with ``shifts`` (empty: no clinic-level
    restriction; the professionals' hours alone decide)."""
    ordered = _check_shifts(shifts)
    _profile_lock()
    before = [_label(row) for row in OpeningShift.objects.order_by("weekday", "opens_at")]
    OpeningShift.objects.all().delete()
    rows = OpeningShift.objects.bulk_create(
        OpeningShift(weekday=s.weekday, opens_at=s.opens_at, closes_at=s.closes_at) for s in ordered
    )
    after = [_label(row) for row in rows]
    audit_record(
        actor=actor,
        action="clinic.set_opening_hours",
        entity_type="clinic_admin.openingshift",
        changes=diff({"shifts": before}, {"shifts": after}),
    )
    return rows


@transaction.atomic
def clinic_closure_add(
    *, actor: User, starts_on: dt.date, ends_on: dt.date, reason: str = ""
) -> ClinicClosure:
    """Close the clinic from ``starts_on`` to ``ends_on``, both included: no slot is offered
    and nothing can be booked on those days."""
    errors: dict[str, ValidationError] = {}
    for field, day in (("starts_on", starts_on), ("ends_on", ends_on)):
        if not CLOSURE_YEARS[0] <= day.year <= CLOSURE_YEARS[1]:
            errors[field] = ValidationError(
                _("A date between 2000 and 2100."), code=ClinicAdminError.INVALID_DATE_RANGE
            )
    if not errors and ends_on < starts_on:
        errors["ends_on"] = ValidationError(
            _("The closure cannot end before it starts."),
            code=ClinicAdminError.INVALID_DATE_RANGE,
        )
    if not errors and (ends_on - starts_on).days >= MAX_CLOSURE_DAYS:
        errors["ends_on"] = ValidationError(
            _("A closure lasts at most a year."), code=ClinicAdminError.INVALID_DATE_RANGE
        )
    try:
        reason = validate_line(reason, max_length=200)
    except ValidationError as error:
        errors["reason"] = error
    if errors:
        raise ValidationError(errors)
    _profile_lock()  # bookings in flight finish first; later ones see the closure
    closure = ClinicClosure.objects.create(starts_on=starts_on, ends_on=ends_on, reason=reason)
    audit_record(
        actor=actor,
        action="clinic.add_closure",
        entity=closure,
        changes={"starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat(),
                 "reason": reason},
    )  # fmt: skip
    return closure


@transaction.atomic
def clinic_closure_remove(*, actor: User, closure: ClinicClosure) -> None:
    """Open the clinic again on the closure's days."""
    _profile_lock()  # the calendar's lock, always before the closure's row
    locked = ClinicClosure.objects.select_for_update().filter(pk=closure.pk).first()
    if locked is None:  # removed by another request meanwhile
        raise ValidationError(_("No such closure."), code=CommonError.NOT_FOUND)
    closure = locked
    changes = {
        "starts_on": closure.starts_on.isoformat(),
        "ends_on": closure.ends_on.isoformat(),
        "reason": closure.reason,
    }
    closure_id = closure.pk
    closure.delete()
    audit_record(
        actor=actor,
        action="clinic.remove_closure",
        entity_type="clinic_admin.clinicclosure",
        entity_id=closure_id,
        changes=changes,
    )

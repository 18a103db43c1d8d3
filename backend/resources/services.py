"""Writes on professionals, their hours and time off, and chairs."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from backend.accounts.models import Role, User
from backend.audit.services import audit_record, diff
from backend.core.error_codes import CommonError
from backend.core.errors import field_error, save_refusing
from backend.resources.errors import ResourceError
from backend.resources.models import Chair, Professional, TimeOff, WorkingHours


@dataclass(frozen=True)
class HoursRange:
    weekday: int
    start: dt.time
    end: dt.time


def _name(value: str | None, field: str = "full_name", max_length: int = 200) -> str:
    value = " ".join((value or "").split())
    if not value or len(value) > max_length:
        raise field_error(
            field,
            _("A name is required (at most %(max)d characters).") % {"max": max_length},
            ResourceError.INVALID_NAME,
        )
    return value


def _license(value: str | None) -> str:
    value = (value or "").strip()
    if not re.fullmatch(r"[0-9]{1,6}", value):
        raise field_error(
            "license_number",
            _("A COP license number has 1 to 6 digits."),
            ResourceError.INVALID_LICENSE,
        )
    return value


def _color(value: str | None) -> str:
    value = (value or "").strip()
    if not re.fullmatch(r"#[0-9A-Fa-f]{6}", value):
        raise field_error("color", _("Use a colour like #3B82F6."), ResourceError.INVALID_COLOR)
    return value.upper()


def _specialty(value: str | None) -> str:
    value = (value or "").strip()
    if len(value) > 100:
        raise field_error("specialty", _("At most 100 characters."), ResourceError.TOO_LONG)
    return value


def _reason(value: str | None) -> str:
    value = (value or "").strip()
    if len(value) > 200:
        raise field_error("reason", _("At most 200 characters."), ResourceError.TOO_LONG)
    return value


def _dentist(user_id: int | None, *, professional: Professional | None = None) -> User | None:
    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id).first()
    if user is None:  # an ID this clinic does not have, as for every other ID argument
        raise field_error("user_id", _("Nothing was found with this ID."), CommonError.NOT_FOUND)
    if not user.is_active or user.role != Role.DENTIST:
        raise field_error(
            "user_id",
            _("Link an active staff user with the DENTIST role."),
            ResourceError.INVALID_USER,
        )
    linked = Professional.objects.filter(user=user)
    if professional is not None and professional.pk is not None:
        linked = linked.exclude(pk=professional.pk)
    if linked.exists():
        raise _user_already_linked()
    return user


def _user_already_linked() -> ValidationError:
    return field_error(
        "user_id",
        _("This user is already linked to another professional."),
        ResourceError.USER_ALREADY_LINKED,
    )


def _hours(ranges: Iterable[HoursRange]) -> list[HoursRange]:
    ranges = sorted(ranges, key=lambda r: (r.weekday, r.start))
    for index, current in enumerate(ranges):
        if not 0 <= current.weekday <= 6 or current.start >= current.end:
            raise field_error(
                "working_hours",
                _("Each range needs a weekday and a start before its end."),
                ResourceError.INVALID_WORKING_HOURS,
            )
        previous = ranges[index - 1] if index else None
        if previous and previous.weekday == current.weekday and previous.end > current.start:
            raise field_error(
                "working_hours",
                _("Ranges of the same day cannot overlap."),
                ResourceError.INVALID_WORKING_HOURS,
            )
    return ranges


def _replace_hours(professional: Professional, ranges: list[HoursRange]) -> None:
    WorkingHours.objects.filter(professional=professional).delete()
    WorkingHours.objects.bulk_create(
        WorkingHours(
            professional=professional, weekday=r.weekday, start_time=r.start, end_time=r.end
        )
        for r in ranges
    )


def _hours_snapshot(ranges: Iterable[HoursRange]) -> list[str]:
    return [f"{r.weekday} {r.start:%H:%M}-{r.end:%H:%M}" for r in ranges]


def _license_taken() -> ValidationError:
    return field_error(
        "license_number",
        _("Another professional has this license number."),
        ResourceError.LICENSE_TAKEN,
    )


def _save_professional(professional: Professional) -> None:
    save_refusing(
        professional.save,
        {
            "professional_license_unique": _license_taken,
            # the OneToOneField's UNIQUE, named by PostgreSQL (the app's label is "staff")
            "staff_professional_user_id_key": _user_already_linked,
        },
    )


@transaction.atomic
def professional_create(
    *,
    actor: User,
    full_name: str,
    license_number: str,
    specialty: str = "",
    color: str = "#3B82F6",
    user_id: int | None = None,
    working_hours: Iterable[HoursRange] = (),
) -> Professional:
    """Create a professional with their weekly hours (clinic-local times)."""
    professional = Professional(
        full_name=_name(full_name),
        license_number=_license(license_number),
        specialty=_specialty(specialty),
        color=_color(color),
        user=_dentist(user_id),
    )
    ranges = _hours(working_hours)
    _save_professional(professional)
    _replace_hours(professional, ranges)
    audit_record(
        actor=actor,
        action="professional.create",
        entity=professional,
        changes={
            "full_name": professional.full_name,
            "license_number": professional.license_number,
            "user_id": user_id,
            "working_hours": _hours_snapshot(ranges),
        },
    )
    return professional


@transaction.atomic
def professional_update(
    *, actor: User, professional: Professional, data: Mapping[str, Any]
) -> Professional:
    """Change the given fields; ``working_hours``, when given, replaces the whole week."""
    professional = Professional.objects.select_for_update().get(pk=professional.pk)
    cleaners = {
        "full_name": _name,
        "license_number": _license,
        "specialty": _specialty,
        "color": _color,
    }
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for field, clean in cleaners.items():
        if field in data:
            before[field] = getattr(professional, field)
            after[field] = clean(data[field])
            setattr(professional, field, after[field])
    if "user_id" in data:
        before["user_id"] = professional.user_id
        professional.user = _dentist(data["user_id"], professional=professional)
        after["user_id"] = professional.user_id
    if "working_hours" in data:
        ranges = _hours(data["working_hours"])
        before["working_hours"] = [
            f"{h.weekday} {h.start_time:%H:%M}-{h.end_time:%H:%M}"
            for h in professional.working_hours.all()
        ]
        after["working_hours"] = _hours_snapshot(ranges)
        _replace_hours(professional, ranges)
    _save_professional(professional)
    audit_record(
        actor=actor, action="professional.update", entity=professional, changes=diff(before, after)
    )
    return professional


def _deactivate(actor: User, resource: Professional | Chair, action: str) -> Any:
    resource = type(resource).objects.select_for_update().get(pk=resource.pk)
    if not resource.is_active:
        raise ValidationError(_("Already inactive."), code=ResourceError.ALREADY_INACTIVE)
    resource.is_active = False
    resource.save(update_fields=["is_active"])
    audit_record(
        actor=actor,
        action=action,
        entity=resource,
        changes={"is_active": {"from": True, "to": False}},
    )
    return resource


@transaction.atomic
def professional_deactivate(*, actor: User, professional: Professional) -> Professional:
    """No new bookings; the agenda already booked is kept."""
    return _deactivate(actor, professional, "professional.deactivate")


@transaction.atomic
def time_off_add(
    *,
    actor: User,
    professional: Professional,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reason: str = "",
) -> TimeOff:
    """Block a period of a professional's agenda."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None or ends_at <= starts_at:
        raise field_error(
            "ends_at",
            _("Give aware start and end times, the end after the start."),
            ResourceError.INVALID_TIME_RANGE,
        )
    time_off = TimeOff(
        professional=professional,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=_reason(reason),
    )
    try:
        with transaction.atomic():
            time_off.save()
    except IntegrityError:
        raise field_error(
            "starts_at",
            _("This period overlaps another time off of the same professional."),
            ResourceError.TIME_OFF_OVERLAP,
        ) from None
    audit_record(
        actor=actor,
        action="professional.add_time_off",
        entity=professional,
        changes={
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "reason": reason,
        },
    )
    return time_off


@transaction.atomic
def time_off_remove(*, actor: User, time_off: TimeOff) -> Professional:
    professional = time_off.professional
    changes = {"starts_at": time_off.starts_at.isoformat(), "ends_at": time_off.ends_at.isoformat()}
    time_off.delete()
    audit_record(
        actor=actor, action="professional.remove_time_off", entity=professional, changes=changes
    )
    return professional


def _save_chair(chair: Chair) -> None:
    try:
        with transaction.atomic():
            chair.save()
    except IntegrityError:
        raise field_error(
            "name", _("Another chair has this name."), ResourceError.CHAIR_NAME_TAKEN
        ) from None


@transaction.atomic
def chair_create(*, actor: User, name: str) -> Chair:
    chair = Chair(name=_name(name, "name", 100))
    _save_chair(chair)
    audit_record(actor=actor, action="chair.create", entity=chair, changes={"name": chair.name})
    return chair


@transaction.atomic
def chair_update(*, actor: User, chair: Chair, name: str) -> Chair:
    chair = Chair.objects.select_for_update().get(pk=chair.pk)
    before = {"name": chair.name}
    chair.name = _name(name, "name", 100)
    _save_chair(chair)
    audit_record(
        actor=actor, action="chair.update", entity=chair, changes=diff(before, {"name": chair.name})
    )
    return chair


@transaction.atomic
def chair_deactivate(*, actor: User, chair: Chair) -> Chair:
    """No new bookings in this chair; its booked appointments are kept."""
    return _deactivate(actor, chair, "chair.deactivate")

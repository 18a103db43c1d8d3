"""Templates with ``{placeholders}``: validation, rendering, and dates the Spanish way.

A template is plain text; ``{name}`` is replaced by the value of a known placeholder. Braces
that name no placeholder are refused when the template is saved (``UNKNOWN_PLACEHOLDER``), so a
patient never receives "{fecha}". ``{{`` and ``}}`` write literal braces."""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from django.utils import translation
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext_lazy as _

# name → what it becomes (shown to the clinic's admins beside the template editor)
PLACEHOLDERS: dict[str, object] = {
    "patient_first_name": _("The patient's first name"),
    "clinic_name": _("The clinic's name"),
    "clinic_phone": _("The clinic's phone"),
    "date": _("The appointment's date, e.g. “jueves 3 de diciembre”"),
    "time": _("The appointment's time, e.g. “10:30”"),
    "professional": _("The professional's name"),
    "address": _("The clinic's address"),
    "link": _("The link that confirms or cancels the appointment"),
    "procedure": _("The procedure a recall is about (catalog name)"),
    "months": _("Months since that procedure"),
    "code": _("The one-time code the patient asked for"),
}
# Which placeholders each kind of message may use.
APPOINTMENT_PLACEHOLDERS = frozenset(PLACEHOLDERS) - {"procedure", "months", "code"}
RECALL_PLACEHOLDERS = frozenset(
    {"patient_first_name", "clinic_name", "clinic_phone", "address", "procedure", "months"}
)
VERIFICATION_PLACEHOLDERS = frozenset({"patient_first_name", "clinic_name", "clinic_phone", "code"})


def placeholders_allowed(kind: str) -> frozenset[str]:
    """The placeholders a template of ``kind`` (a ``NotificationKind`` value) may use."""
    if kind == "RECALL":
        return RECALL_PLACEHOLDERS
    if kind == "VERIFICATION_CODE":
        return VERIFICATION_PLACEHOLDERS
    return APPOINTMENT_PLACEHOLDERS


_NAME = re.compile(r"^[a-z_]+$")


class TemplateSyntaxError(ValueError):
    pass


def placeholders_in(text: str) -> list[str]:
    """The placeholder names ``text`` uses, in order; ``TemplateSyntaxError`` when its braces
    are unbalanced or a field is not a plain name (``{a.b}``, ``{0}``, ``{x!r}``)."""
    names = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as error:
        raise TemplateSyntaxError(str(error)) from error
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if not _NAME.match(field) or spec or conversion:
            raise TemplateSyntaxError(field)
        names.append(field)
    return names


def unknown_placeholders(text: str, allowed: frozenset[str]) -> list[str]:
    return sorted({name for name in placeholders_in(text) if name not in allowed})


def render(text: str, values: Mapping[str, str]) -> str:
    """``text`` with every placeholder replaced (a missing value becomes empty), tidied: an
    empty value leaves no double space, trailing blank or run of empty lines."""
    return tidy(string.Formatter().vformat(text, (), _Defaulting(values)))


def tidy(text: str) -> str:
    lines = [re.sub(r"[ \t]{2,}", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _Defaulting(dict):
    def __missing__(self, key: str) -> str:
        return ""


def spanish_date(moment: dt.datetime, zone: str) -> str:
    """ "jueves 3 de diciembre", in the clinic's time zone."""
    with translation.override("es"):
        return date_format(moment.astimezone(ZoneInfo(zone)), r"l j \d\e F")


def spanish_time(moment: dt.datetime, zone: str) -> str:
    """ "10:30" (24-hour clock), in the clinic's time zone."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%H:%M")

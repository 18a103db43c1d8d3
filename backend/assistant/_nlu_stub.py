"""A stand-in for ``backend.assistant.nlu`` until it lands (keywords only)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Intent(StrEnum):
    GREETING = "GREETING"
    HOURS = "HOURS"
    LOCATION = "LOCATION"
    PRICES = "PRICES"
    BOOK = "BOOK"
    RESCHEDULE = "RESCHEDULE"
    CANCEL = "CANCEL"
    MY_APPOINTMENTS = "MY_APPOINTMENTS"
    CONFIRM = "CONFIRM"
    DENY = "DENY"
    HUMAN = "HUMAN"
    THANKS = "THANKS"
    UNKNOWN = "UNKNOWN"


class Clinical(StrEnum):
    NONE = "NONE"
    CLINICAL = "CLINICAL"
    URGENT = "URGENT"


@dataclass(frozen=True)
class CatalogEntry:
    id: int
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class NamedEntry:
    id: int
    name: str


@dataclass(frozen=True)
class DateSpan:
    first: dt.date
    last: dt.date


@dataclass(frozen=True)
class TimeSpan:
    start: dt.time
    end: dt.time


@dataclass(frozen=True)
class Understanding:
    intent: Intent
    score: float = 1.0
    clinical: Clinical = Clinical.NONE
    dates: DateSpan | None = None
    times: TimeSpan | None = None
    procedure_id: int | None = None
    professional_id: int | None = None
    dni: str | None = None
    phone: str | None = None
    email: str | None = None
    code: str | None = None
    choice: int | None = None
    first_name: str | None = None
    last_name: str | None = None
    yes: bool | None = None


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if not unicodedata.combining(c))


KEYWORDS = [
    (Intent.HUMAN, ("persona", "humano", "alguien")),
    (Intent.CANCEL, ("cancelar", "anular")),
    (Intent.RESCHEDULE, ("cambiar", "reprogramar", "mover")),
    (Intent.MY_APPOINTMENTS, ("mis citas", "mi cita")),
    (Intent.BOOK, ("cita", "reservar", "separar", "turno")),
    (Intent.PRICES, ("cuanto", "precio", "cuesta", "servicios")),
    (Intent.HOURS, ("hora", "horario", "abren", "atienden")),
    (Intent.LOCATION, ("donde", "direccion", "telefono", "ubicados", "quedan")),
    (Intent.THANKS, ("gracias",)),
    (Intent.GREETING, ("hola", "buenas", "buenos")),
]


def understand(
    text: str,
    *,
    today: dt.date,
    catalog: Sequence[CatalogEntry] = (),
    professionals: Sequence[NamedEntry] = (),
    expecting: str | None = None,
) -> Understanding:
    folded = _fold(text)
    words = re.findall(r"\w+", folded)
    intent = Intent.UNKNOWN
    for candidate, keys in KEYWORDS:
        if any(key in folded for key in keys):
            intent = candidate
            break
    yes = True if words[:1] in (["si"], ["ok"]) else False if words[:1] == ["no"] else None
    if yes is not None and intent == Intent.UNKNOWN:
        intent = Intent.CONFIRM if yes else Intent.DENY
    clinical = Clinical.NONE
    if "hinch" in folded or "sangr" in folded:
        clinical = Clinical.URGENT
    elif "duele" in folded or "dolor" in folded:
        clinical = Clinical.CLINICAL
    dates = None
    if "pasado manana" in folded:
        dates = DateSpan(today + dt.timedelta(days=2), today + dt.timedelta(days=2))
    elif re.search(r"\bmanana\b", folded) and not folded.startswith("en la manana"):
        dates = DateSpan(today + dt.timedelta(days=1), today + dt.timedelta(days=1))
    elif "hoy" in words:
        dates = DateSpan(today, today)
    times = None
    if "tarde" in words:
        times = TimeSpan(dt.time(13), dt.time(19))
    digits = re.fullmatch(r"\s*(\d+)\s*", text)
    code = digits.group(1) if digits and len(digits.group(1)) == 6 else None
    dni = digits.group(1) if digits and len(digits.group(1)) == 8 else None
    phone = digits.group(1) if digits and len(digits.group(1)) == 9 else None
    choice = int(digits.group(1)) if digits and len(digits.group(1)) <= 2 else None
    procedure_id = next((e.id for e in catalog if _fold(e.name).split()[0] in folded), None)
    first_name = last_name = None
    if expecting == "names" and len(words) >= 2 and intent == Intent.UNKNOWN:
        parts = text.split()
        first_name, last_name = parts[0], " ".join(parts[1:])
    return Understanding(
        intent=intent,
        clinical=clinical,
        dates=dates,
        times=times,
        procedure_id=procedure_id,
        dni=dni,
        phone=phone,
        code=code,
        choice=choice,
        first_name=first_name,
        last_name=last_name,
        yes=yes,
    )

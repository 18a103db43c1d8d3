"""What the assistant's understanding returns: plain values, no database, no clinic state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from enum import StrEnum


class Intent(StrEnum):
    """What the patient asked for; the same names as the GraphQL ``AssistantIntent``."""

    GREETING = "GREETING"
    HOURS = "HOURS"
    LOCATION = "LOCATION"  # address, directions and the clinic's phone
    PRICES = "PRICES"  # a price, or the services offered
    BOOK = "BOOK"
    RESCHEDULE = "RESCHEDULE"
    CANCEL = "CANCEL"
    MY_APPOINTMENTS = "MY_APPOINTMENTS"
    CONFIRM = "CONFIRM"
    DENY = "DENY"
    HUMAN = "HUMAN"
    THANKS = "THANKS"  # thanks and goodbyes
    UNKNOWN = "UNKNOWN"


class Clinical(StrEnum):
    """Whether the message tells of symptoms (the engine hands those to a person)."""

    NONE = "NONE"
    CLINICAL = "CLINICAL"  # pain, bleeding, a lost filling, a question about medicines
    URGENT = "URGENT"  # swollen face, bleeding that does not stop, fever with pain, a blow,
    # trouble breathing or swallowing


@dataclass(frozen=True)
class CatalogEntry:
    """A procedure of the clinic's catalog, as the engine passes it in."""

    id: int
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class NamedEntry:
    """A professional ("Dra. Ana Torres")."""

    id: int
    name: str


@dataclass(frozen=True)
class DateSpan:
    """Clinic-local days, both ends included (one day: ``first == last``)."""

    first: date
    last: date


@dataclass(frozen=True)
class TimeSpan:
    """Clinic-local times of day; an exact time has ``start == end``."""

    start: time
    end: time


@dataclass(frozen=True)
class Understanding:
    """Everything one message says; every slot is None when the message does not say it."""

    intent: Intent
    score: float  # 0..1, how sure the intent is (0 for UNKNOWN)
    clinical: Clinical
    dates: DateSpan | None
    times: TimeSpan | None
    procedure_id: int | None
    professional_id: int | None
    dni: str | None  # 8 digits
    phone: str | None  # E.164
    email: str | None
    code: str | None  # 6 digits
    choice: int | None  # 1-based
    first_name: str | None
    last_name: str | None
    yes: bool | None

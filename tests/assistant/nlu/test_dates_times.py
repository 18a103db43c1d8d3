"""Dates and times as patients write them, against a fixed clinic-local today."""

from __future__ import annotations

import datetime as dt

import pytest

from backend.assistant.nlu import DateSpan, TimeSpan, understand

TUESDAY = dt.date(2026, 12, 1)
THURSDAY = dt.date(2026, 12, 3)
SATURDAY = dt.date(2026, 12, 5)


def days(first: str, last: str | None = None) -> DateSpan:
    return DateSpan(dt.date.fromisoformat(first), dt.date.fromisoformat(last or first))


def hours(start: str, end: str | None = None) -> TimeSpan:
    return TimeSpan(dt.time.fromisoformat(start), dt.time.fromisoformat(end or start))


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("hoy", TUESDAY, days("2026-12-01")),
        ("mañana", TUESDAY, days("2026-12-02")),
        ("manana", TUESDAY, days("2026-12-02")),
        ("pasado mañana", TUESDAY, days("2026-12-03")),
        ("tomorrow", TUESDAY, days("2026-12-02")),
        # A weekday is its next occurrence after today, a week ahead on that weekday...
        ("el jueves", TUESDAY, days("2026-12-03")),
        ("el jueves", THURSDAY, days("2026-12-10")),
        ("el martes", TUESDAY, days("2026-12-08")),
        ("el próximo jueves", TUESDAY, days("2026-12-03")),
        ("el jueves que viene", TUESDAY, days("2026-12-03")),
        # ... unless "hoy" says it is today.
        ("hoy jueves", THURSDAY, days("2026-12-03")),
        ("el jueves de la próxima semana", TUESDAY, days("2026-12-10")),
        ("el jueves 10", TUESDAY, days("2026-12-10")),
        ("el jueves 12", TUESDAY, days("2027-08-12")),  # the next Thursday the 12th
        ("el 15 de diciembre", TUESDAY, days("2026-12-15")),
        ("el 30 de noviembre", TUESDAY, days("2027-11-30")),  # passed: next year's
        ("el 3 de enero", TUESDAY, days("2027-01-03")),
        ("el 1ro de enero", TUESDAY, days("2027-01-01")),
        ("15/12", TUESDAY, days("2026-12-15")),
        ("15/12/2027", TUESDAY, days("2027-12-15")),
        ("el 20", TUESDAY, days("2026-12-20")),
        ("la próxima semana", TUESDAY, days("2026-12-07", "2026-12-13")),
        ("la otra semana", TUESDAY, days("2026-12-07", "2026-12-13")),
        ("la semana que viene", TUESDAY, days("2026-12-07", "2026-12-13")),
        ("esta semana", TUESDAY, days("2026-12-01", "2026-12-06")),
        ("el fin de semana", TUESDAY, days("2026-12-05", "2026-12-06")),
        ("el finde", SATURDAY, days("2026-12-05", "2026-12-06")),
        ("en enero", TUESDAY, days("2027-01-01", "2027-01-31")),
        ("dentro de 3 dias", TUESDAY, days("2026-12-04")),
        ("2026-12-20", TUESDAY, days("2026-12-20")),  # dateparser's share
    ],
)
def test_dates(text: str, today: dt.date, expected: DateSpan) -> None:
    assert understand(text, today=today, expecting="dates").dates == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("en la tarde", hours("13:00", "19:00")),
        ("por la tarde", hours("13:00", "19:00")),
        ("en la mañana", hours("08:00", "12:00")),
        ("temprano", hours("08:00", "12:00")),
        ("en la noche", hours("18:00", "21:00")),
        ("a las 4", hours("16:00")),  # bare hours 1 to 7 are the afternoon
        ("a las 10", hours("10:00")),
        ("a las 4 y media", hours("16:30")),
        ("a las cuatro y media", hours("16:30")),
        ("a las 11 y cuarto", hours("11:15")),
        ("4:30", hours("16:30")),
        ("16:30", hours("16:30")),
        ("4 pm", hours("16:00")),
        ("10am", hours("10:00")),
        ("a las 9 de la noche", hours("21:00")),
        ("a las 8 de la mañana", hours("08:00")),
        ("a la una", hours("13:00")),
        ("al mediodía", hours("12:00")),
        ("entre las 3 y las 5", hours("15:00", "17:00")),
        ("después de las 5", hours("17:00", "21:00")),
        ("antes de las 11", hours("08:00", "11:00")),
    ],
)
def test_times(text: str, expected: TimeSpan) -> None:
    assert understand(text, today=TUESDAY, expecting="dates").times == expected


@pytest.mark.parametrize(
    ("text", "dates", "times"),
    [
        ("mañana en la mañana", days("2026-12-02"), hours("08:00", "12:00")),
        ("mañana en la tarde", days("2026-12-02"), hours("13:00", "19:00")),
        ("pasado mañana a las 4", days("2026-12-03"), hours("16:00")),
        ("la próxima semana temprano", days("2026-12-07", "2026-12-13"), hours("08:00", "12:00")),
        ("esta noche", days("2026-12-01"), hours("18:00", "21:00")),
        ("el viernes 11 a las 3 pm", days("2026-12-11"), hours("15:00")),
        ("mañana a las 10 de la mañana", days("2026-12-02"), hours("10:00")),
    ],
)
def test_a_day_and_a_time_together(text: str, dates: DateSpan, times: TimeSpan) -> None:
    got = understand(text, today=TUESDAY, expecting="dates")
    assert (got.dates, got.times) == (dates, times)


@pytest.mark.parametrize("text", ["buenas tardes", "Buenos días", "buenas noches doctora"])
def test_a_greeting_is_neither_a_day_nor_a_time(text: str) -> None:
    got = understand(text, today=TUESDAY)
    assert (got.dates, got.times) == (None, None)


def test_a_bare_number_is_an_hour_only_after_a_las():
    assert understand("2", today=TUESDAY).times is None
    assert understand("la 4", today=TUESDAY, expecting="choice").times is None
    assert understand("a las 2", today=TUESDAY).times == hours("14:00")


def test_a_day_number_is_a_choice_when_a_choice_is_awaited():
    awaited = understand("el 2", today=TUESDAY, expecting="choice")
    assert (awaited.choice, awaited.dates) == (2, None)
    assert understand("el 2", today=TUESDAY, expecting="dates").dates == days("2026-12-02")

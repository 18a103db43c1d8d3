"""Dates as patients write them, resolved against the clinic's ``today`` (clinic-local).

Rules ("today" is never in the past of what is said):
- "hoy", "mañana", "pasado mañana"; "mañana en la mañana" is tomorrow morning (times.py).
- A weekday ("el jueves", "el próximo jueves", "el jueves que viene") is its next occurrence
  AFTER today: said on a Thursday, "el jueves" is a week ahead; "hoy jueves" is today.
  "el jueves de la próxima semana" is the Thursday of next week (Monday to Sunday).
- "el jueves 10": the next Thursday the 10th (this month or a later one); "el 10": the next
  10th; "el 15 de diciembre", "15/12": the next such day (this year, or next once it passed).
- "esta semana": today to Sunday; "la próxima semana": Monday to Sunday of next week;
  "el fin de semana": the coming Saturday and Sunday (or what is left of the current one).
- "este mes", "el próximo mes", "en enero": the month (what is left of it when current).
- ``dateparser`` reads what these rules do not (ISO dates, "en 3 semanas"...), and only when
  a date-looking word is left, because it costs milliseconds.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from .phrases import whole_words as _r
from .types import DateSpan

WEEKDAYS = {
    "lunes": 0,
    "martes": 1,
    "miercoles": 2,
    "jueves": 3,
    "viernes": 4,
    "sabado": 5,
    "sabados": 5,
    "domingo": 6,
    "domingos": 6,
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
MONTHS = {
    "enero": 1,
    "febrero": 2,
    "marzo": 3,
    "abril": 4,
    "mayo": 5,
    "junio": 6,
    "julio": 7,
    "agosto": 8,
    "septiembre": 9,
    "setiembre": 9,
    "octubre": 10,
    "noviembre": 11,
    "diciembre": 12,
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
}
MONTH_ABBREVIATIONS = {
    "ene": 1,
    "feb": 2,
    "mar": 3,
    "abr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "ago": 8,
    "sep": 9,
    "set": 9,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dic": 12,
    "jan": 1,
    "apr": 4,
    "aug": 8,
    "dec": 12,
}
ORDINAL_DAYS = {"primero": 1, "1ro": 1, "1ero": 1}

_WD = "(" + "|".join(WEEKDAYS) + ")"
_MONTH = "(" + "|".join([*MONTHS, *MONTH_ABBREVIATIONS]) + ")"
_FULL_MONTH = "(" + "|".join(MONTHS) + ")"
_NEXT_WEEK = (
    r"(?:(?:la )?(?:proxima|siguiente|otra) semana"
    r"|semana (?:que viene|proxima|siguiente|entrante)|next week)"
)


@dataclass(frozen=True)
class Found:
    span: DateSpan
    start: int
    end: int


# --- dates ---------------------------------------------------------------------------------
def _next_weekday(today: dt.date, weekday: int) -> dt.date:
    """The next ``weekday`` after today (a week ahead when today is that weekday)."""
    return today + dt.timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def _next_day_of_month(today: dt.date, day: int, weekday: int | None = None) -> dt.date | None:
    year, month = today.year, today.month
    for _ in range(15):
        if day <= calendar.monthrange(year, month)[1]:
            candidate = dt.date(year, month, day)
            if candidate >= today and (weekday is None or candidate.weekday() == weekday):
                return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _day_month(today: dt.date, day: int, month: int, year: int | None) -> dt.date | None:
    try:
        if year is not None:
            return dt.date(year + 2000 if year < 100 else year, month, day)
        candidate = dt.date(today.year, month, day)
        return candidate if candidate >= today else dt.date(today.year + 1, month, day)
    except ValueError:
        return None


def _month_span(today: dt.date, month: int, year: int | None = None) -> DateSpan:
    if year is None:
        year = today.year if month >= today.month else today.year + 1
    first = dt.date(year, month, 1)
    last = dt.date(year, month, calendar.monthrange(year, month)[1])
    return DateSpan(max(first, today), last)


def _week_span(today: dt.date, weeks: int) -> DateSpan:
    monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=weeks)
    return DateSpan(max(monday, today), monday + dt.timedelta(days=6))


def _day(day: dt.date | None) -> DateSpan | None:
    return DateSpan(day, day) if day else None


def _month_value(word: str) -> int:
    return MONTHS.get(word) or MONTH_ABBREVIATIONS[word]


def _int(value: str | None) -> int | None:
    return int(value) if value else None


_D_WEEKDAY_NEXT_WEEK = _r(r"(?:el |este )?" + _WD + r" (?:de |en )?(?:la |esta )?" + _NEXT_WEEK)
_D_EXPLICIT = _r(
    r"(?:(?:el|del|para el) )?(?:"
    + _WD
    + r" )?(\d{1,2}|primero|1ro|1ero) (?:de )?"
    + _MONTH
    + r"(?: (?:de |del )?(\d{4}))?"
)
_D_MONTH_FIRST = _r(_FULL_MONTH + r" (\d{1,2})(?: (\d{4}))?")
_D_NUMERIC = _r(
    r"(?:(?:el|del|para el) )?(?:" + _WD + r" )?(\d{1,2})[/\-.](\d{1,2})(?:[/\-.](\d{2,4}))?"
)
_D_WEEKDAY_DAY = _r(_WD + r" (\d{1,2})")
_D_TODAY_WEEKDAY = _r(r"hoy " + _WD)
_D_RELATIVE = _r(r"(pasado manana|day after tomorrow|manana|tomorrow|hoy|today)")
_D_WEEKDAY = _r(_WD)
_D_THIS_WEEK = _r(r"(?:esta semana|this week)")
_D_NEXT_WEEK = _r(_NEXT_WEEK)
_D_WEEKEND = _r(r"(?:fin de semana|weekend)")
_D_DAY_OF_MONTH = _r(r"(?:el|del|para el|dia) (\d{1,2})(?! ?:)")
_D_IN_DAYS = _r(r"(?:en|dentro de) (\d{1,2}|un|una|dos|tres|cuatro) (dia|dias|semana|semanas)")
_D_THIS_MONTH = _r(r"(?:este mes|this month)")
_D_NEXT_MONTH = _r(r"(?:(?:el )?(?:proximo|siguiente) mes|(?:el )?mes que viene|next month)")
_D_MONTH = _r(r"(?:en|para|de|in) " + _FULL_MONTH)
_DATEISH = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\b\d+ (?:semanas?|meses|dias)\b|\bsemanas?\b")


def _date_candidates(text: str, today: dt.date, *, day_numbers: bool) -> list[Found]:
    found: list[Found] = []

    def add(match: re.Match[str], span: DateSpan | None) -> None:
        if span is not None:
            found.append(Found(span, match.start(), match.end()))

    for m in _D_WEEKDAY_NEXT_WEEK.finditer(text):
        week = _week_span(today, 1)
        add(m, _day(week.first + dt.timedelta(days=WEEKDAYS[m.group(1)] - week.first.weekday())))
    for m in _D_EXPLICIT.finditer(text):
        day = ORDINAL_DAYS.get(m.group(2)) or int(m.group(2))
        add(m, _day(_day_month(today, day, _month_value(m.group(3)), _int(m.group(4)))))
    for m in _D_MONTH_FIRST.finditer(text):
        add(m, _day(_day_month(today, int(m.group(2)), MONTHS[m.group(1)], _int(m.group(3)))))
    for m in _D_NUMERIC.finditer(text):
        if 1 <= int(m.group(3)) <= 12:
            add(m, _day(_day_month(today, int(m.group(2)), int(m.group(3)), _int(m.group(4)))))
    for m in _D_WEEKDAY_DAY.finditer(text):
        add(m, _day(_next_day_of_month(today, int(m.group(2)), WEEKDAYS[m.group(1)])))
    for m in _D_TODAY_WEEKDAY.finditer(text):
        add(m, _day(today))
    for m in _D_RELATIVE.finditer(text):
        offset = {"pasado manana": 2, "day after tomorrow": 2, "manana": 1, "tomorrow": 1}
        add(m, _day(today + dt.timedelta(days=offset.get(m.group(1), 0))))
    for m in _D_WEEKDAY.finditer(text):
        add(m, _day(_next_weekday(today, WEEKDAYS[m.group(1)])))
    for m in _D_THIS_WEEK.finditer(text):
        add(m, _week_span(today, 0))
    for m in _D_NEXT_WEEK.finditer(text):
        add(m, _week_span(today, 1))
    for m in _D_WEEKEND.finditer(text):
        # On a Saturday or a Sunday, "el fin de semana" is what is left of this one.
        first = today if today.weekday() >= 5 else _next_weekday(today, 5)
        add(m, DateSpan(first, first + dt.timedelta(days=6 - first.weekday())))
    if day_numbers:
        for m in _D_DAY_OF_MONTH.finditer(text):
            day = int(m.group(1))
            if 1 <= day <= 31:
                add(m, _day(_next_day_of_month(today, day)))
    for m in _D_IN_DAYS.finditer(text):
        count = {"un": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4}.get(m.group(1))
        amount = count or int(m.group(1))
        days = amount * 7 if m.group(2).startswith("semana") else amount
        add(m, _day(today + dt.timedelta(days=days)))
    for m in _D_THIS_MONTH.finditer(text):
        add(m, _month_span(today, today.month, today.year))
    for m in _D_NEXT_MONTH.finditer(text):
        following = today.replace(day=1) + dt.timedelta(days=32)
        add(m, _month_span(today, following.month, following.year))
    for m in _D_MONTH.finditer(text):
        add(m, _month_span(today, MONTHS[m.group(1)]))
    return found


def _dateparser(text: str, today: dt.date) -> DateSpan | None:
    match = _DATEISH.search(text)
    if not match:
        return None
    import dateparser  # imported on first need: it loads its language data slowly

    parsed = dateparser.parse(
        match.group(0),
        languages=["es", "en"],
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": dt.datetime.combine(today, dt.time(12)),
            "DATE_ORDER": "DMY",
        },
    )
    if parsed is None or parsed.date() < today:
        return None
    return DateSpan(parsed.date(), parsed.date())


def find_date(text: str, today: dt.date, *, day_numbers: bool = True) -> DateSpan | None:
    """The days the text asks for: the earliest mention, the longest reading of it."""
    padded = f" {text} "
    candidates = _date_candidates(padded, today, day_numbers=day_numbers)
    if not candidates:
        return _dateparser(text, today)
    best = min(candidates, key=lambda f: (f.start, -(f.end - f.start)))
    return best.span

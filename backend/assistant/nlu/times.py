"""Times of day as patients write them (clinic-local).

- Parts of the day: morning ("en la mañana", "por la mañana", "temprano") 08:00–12:00,
  afternoon ("en la tarde", "de tarde") 13:00–19:00, night 18:00–21:00, "a primera hora"
  08:00–10:00, "al mediodía" 12:00. "de mañana" is NOT a morning: "la cita de mañana" is a day.
- "a las 4": bare hours 1 to 7 are the afternoon (16:00); "a las 10" is 10:00; "a las 9 de la
  noche" is 21:00; "a las 4 y media", "4:30", "16:30", "4 pm", "a la una".
- "entre las 3 y las 5" 15:00–17:00; "después de las 5" 17:00–21:00; "antes de las 11"
  08:00–11:00.
- A number is an hour only after "a las"/"las", with a colon, or with am/pm: "2" is not.
Greetings ("buenas tardes") are blanked first: they are no afternoon.
"""

from __future__ import annotations

import datetime as dt
import re

from .phrases import whole_words as _r
from .types import TimeSpan

MORNING = (dt.time(8), dt.time(12))
AFTERNOON = (dt.time(13), dt.time(19))
NIGHT = (dt.time(18), dt.time(21))
PARTS = {
    "manana": MORNING,
    "tarde": AFTERNOON,
    "noche": NIGHT,
    "morning": MORNING,
    "afternoon": AFTERNOON,
    "evening": NIGHT,
    "night": NIGHT,
}
DAY_END = dt.time(21)
DAY_START = dt.time(8)
NUMBER_WORDS = {
    "una": 1,
    "uno": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
    "once": 11,
    "doce": 12,
}
_NUM = r"(\d{1,2}|" + "|".join(NUMBER_WORDS) + ")"
_GREETINGS = re.compile(
    r" (?:buenos dias|buen dia|buenas tardes|buenas noches|buenas|good morning|"
    r"good afternoon|good evening) "
)


_CLOCK = (
    _NUM + r"(?:(?::|\.)(\d{2})| y (media|cuarto|\d{1,2}))?(?: (am|pm|hrs|horas))?"
    r"(?: (?:de|en|por) la (manana|tarde|noche))?"
)
_T_BETWEEN = _r(r"entre (?:las |la )?" + _CLOCK + r" y (?:las |la )?" + _CLOCK)
_T_AFTER = _r(r"(?:despues de|desde|a partir de|after) (?:las |la )?" + _CLOCK)
_T_BEFORE = _r(r"(?:antes de|hasta|before) (?:las |la )?" + _CLOCK)
_T_AT = _r(r"(?:a |para |tipo |como a |eso de |hacia |at )?(?:las |la (?=una |1 ))" + _CLOCK)
_T_COLON = _r(r"(\d{1,2}):(\d{2})(?: (am|pm))?")
_T_AMPM = _r(r"(\d{1,2}) (am|pm)")
_T_OF_PART = _r(r"(\d{1,2}) de la (manana|tarde|noche)")
_T_NOON = _r(r"(?:al |a )?(?:mediodia|medio dia|noon)")
# "de mañana" is "of tomorrow" ("la cita de mañana"): only "de tarde", "de noche" are parts.
_T_PART = _r(
    r"(?:(?:en|por|de|durante|a|esta) (?:la|las) |esta |in the |this )"
    r"(manana|tarde|noche|morning|afternoon|evening)s?"
    r"|de (tarde|noche)s?"
)
_T_WORD = _r(
    r"(temprano|tempranito|tardecita|nochecita|morning|afternoon|evening|tonight"
    r"|primera hora)"
)
FIRST_THING = (dt.time(8), dt.time(10))


def _hour(
    value: str, minutes: str | None, extra: str | None, suffix: str | None, part: str | None
) -> dt.time | None:
    hour = NUMBER_WORDS.get(value) if not value.isdigit() else int(value)
    if hour is None or hour > 23:
        return None
    minute = 0
    if minutes:
        minute = int(minutes)
    elif extra:
        minute = 30 if extra == "media" else 15 if extra == "cuarto" else int(extra)
    if minute > 59:
        return None
    if hour <= 12:
        if suffix == "pm" or part in ("tarde", "noche"):
            hour = hour % 12 + 12
        elif suffix == "am" or part == "manana":
            hour %= 12
        elif 1 <= hour <= 7:  # nobody books at four in the morning
            hour += 12
    return dt.time(hour, minute)


def _clock(groups: tuple[str | None, ...]) -> dt.time | None:
    value, minutes, extra, suffix, part = groups[:5]
    assert value is not None
    return _hour(value, minutes, extra, suffix, part)


def find_time(text: str) -> tuple[TimeSpan | None, str]:
    """The time of day the text asks for, and the text with it blanked out."""
    padded = f" {_GREETINGS.sub(' _ ', f' {text} ').strip()} "
    found: TimeSpan | None = None
    for pattern in (_T_BETWEEN, _T_AFTER, _T_BEFORE, _T_AT, _T_COLON, _T_AMPM, _T_OF_PART):
        match = pattern.search(padded)
        if not match:
            continue
        groups = match.groups()
        if pattern is _T_BETWEEN:
            first, last = _clock(groups[:5]), _clock(groups[5:])
            if first and last:
                found = TimeSpan(first, last) if first <= last else TimeSpan(last, first)
        elif pattern is _T_AFTER:
            if at := _clock(groups):
                found = TimeSpan(at, max(at, DAY_END))
        elif pattern is _T_BEFORE:
            if at := _clock(groups):
                found = TimeSpan(min(at, DAY_START), at)
        elif pattern is _T_AT:
            if at := _clock(groups):
                found = TimeSpan(at, at)
        elif pattern is _T_COLON:
            if at := _hour(groups[0], groups[1], None, groups[2], None):
                found = TimeSpan(at, at)
        elif pattern is _T_AMPM:
            if at := _hour(groups[0], None, None, groups[1], None):
                found = TimeSpan(at, at)
        elif at := _hour(groups[0], None, None, None, groups[1]):
            found = TimeSpan(at, at)
        if found:
            padded = padded[: match.start()] + "_" + padded[match.end() :]
            # A part of the day said besides the hour only tells am from pm: blank it too.
            padded = _T_PART.sub("_", padded)
            return found, padded.strip()
    if match := _T_NOON.search(padded):
        noon = dt.time(12)
        return TimeSpan(noon, noon), (padded[: match.start()] + "_" + padded[match.end() :]).strip()
    match = _T_PART.search(padded) or _T_WORD.search(padded)
    if match:
        word = next(group for group in match.groups() if group)
        if word in ("temprano", "tempranito"):
            word = "manana"
        elif word == "tardecita":
            word = "tarde"
        elif word in ("nochecita", "tonight"):
            word = "noche"
        start, end = FIRST_THING if word == "primera hora" else PARTS[word]
        # "esta noche"/"tonight" also says the day: leave "hoy" for the dates.
        replacement = " hoy " if match.group(0).startswith(("esta ", "tonight")) else "_"
        return TimeSpan(start, end), (
            padded[: match.start()] + replacement + padded[match.end() :]
        ).strip()
    return None, padded.strip()

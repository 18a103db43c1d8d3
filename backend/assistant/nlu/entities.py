"""The slots a patient types: DNI, phone, e-mail, one-time code, a choice, their names."""

from __future__ import annotations

import re
from collections.abc import Collection

from django.core.exceptions import ValidationError

from backend.core.contacts import normalize_email, normalize_phone

from .text import fold

_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
# Digits, optionally grouped by spaces, dots or dashes ("912 345 678", "+51 998-877-665").
_NUMBER = re.compile(r"(?<![\w/:])(\+?\d(?:[ .\-]?\d){5,13})(?![\w/:])")
_DOTTED_DATE = re.compile(r"^(?:\d{1,2}[.\-]\d{1,2}[.\-]\d{2,4}|\d{4}-\d{1,2}-\d{1,2})$")
_CODE_WORDS = re.compile(r"\b(?:codigo|code|clave|pin|otp)\b")
_GROUPED_DNI = re.compile(r"(?<!\d)(\d[\d .\-]{7,11}\d)(?!\d)")
_DNI_WORDS = re.compile(r"\b(?:dni|documento)\b")

ORDINALS = {
    "primero": 1,
    "primera": 1,
    "primer": 1,
    "1ro": 1,
    "1ra": 1,
    "1era": 1,
    "1ero": 1,
    "segundo": 2,
    "segunda": 2,
    "2do": 2,
    "2da": 2,
    "tercero": 3,
    "tercera": 3,
    "tercer": 3,
    "3ro": 3,
    "3ra": 3,
    "3era": 3,
    "cuarto": 4,
    "cuarta": 4,
    "4to": 4,
    "4ta": 4,
    "quinto": 5,
    "quinta": 5,
    "5to": 5,
    "5ta": 5,
    "sexto": 6,
    "sexta": 6,
    "septimo": 7,
    "septima": 7,
    "octavo": 8,
    "octava": 8,
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
}
_ORDINAL = "(" + "|".join(ORDINALS) + ")"
_CHOICE_OPTION = re.compile(r"(?<= )(?:opcion|option|numero|number|nro|#) ?(\d{1,2})(?= )")
_CHOICE_ORDINAL = re.compile(
    r"(?<= )(?:la |el |lo )?" + _ORDINAL + r"(?= )(?! (?:de|semana|vez|hora))"
)
_CHOICE_BARE = re.compile(r"^(?:(?:la|el|lo|con|number|numero) )?(\d{1,2})(?: ,)*$")
_CHOICE_ARTICLE = re.compile(r"(?<= )(?:la|el) (\d{1,2})(?= )(?! ?(?:de|:))")


class Numbers:
    """The numbers of a message sorted into phone, DNI and one-time code."""

    def __init__(self, text: str, *, expecting: str | None):
        self.phone: str | None = None
        self.dni: str | None = None
        self.code: str | None = None
        folded = fold(text)
        said_code = bool(_CODE_WORDS.search(folded)) or expecting == "code"
        for match in _NUMBER.finditer(folded):
            raw = match.group(1)
            if _DOTTED_DATE.match(raw):
                continue
            digits = re.sub(r"\D", "", raw)
            if (
                raw.startswith("+")
                or (len(digits) == 9 and digits[0] == "9")
                or (len(digits) == 11 and digits.startswith("519"))
            ):
                self.phone = self.phone or _phone(raw)
            elif len(digits) == 8:
                self.dni = self.dni or digits
            elif len(digits) == 6 and said_code:
                self.code = self.code or digits
            elif expecting == "phone" and len(digits) in (7, 9, 10):
                self.phone = self.phone or _phone(raw)
        if self.dni is None and _DNI_WORDS.search(folded):
            # "DNI 4567 8912": a DNI written in groups.
            grouped = _GROUPED_DNI.search(folded)
            digits = re.sub(r"\D", "", grouped.group(1)) if grouped else ""
            if len(digits) == 8:
                self.dni = digits


def _phone(raw: str) -> str | None:
    try:
        return normalize_phone(raw) or None
    except ValidationError:
        return None


def find_email(text: str) -> str | None:
    match = _EMAIL.search(text)
    if not match:
        return None
    try:
        return normalize_email(match.group(0)) or None
    except ValidationError:
        return None


def find_choice(tokens: tuple[str, ...], *, expecting: str | None) -> int | None:
    """ "la 2", "el segundo", "opción 3", and a bare "2" when a choice is awaited (1-based)."""
    text = " " + " ".join(tokens) + " "
    awaited = expecting == "choice"
    if match := _CHOICE_OPTION.search(text):
        return int(match.group(1)) or None
    if awaited and (match := _CHOICE_BARE.match(" ".join(tokens))):
        return int(match.group(1)) or None
    if awaited and (match := _CHOICE_ARTICLE.search(text)):
        return int(match.group(1)) or None
    matches = list(_CHOICE_ORDINAL.finditer(text))
    if matches and (awaited or len([t for t in tokens if t != ","]) <= 4):
        return ORDINALS[matches[-1].group(1)]
    return None


# --- names ---------------------------------------------------------------------------------
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*|\d+|[^\w\s]")
_NAME_TRIGGERS = (
    ("me", "llamo"),
    ("mi", "nombre", "es"),
    ("my", "name", "is"),
    ("soy",),
    ("nombre",),
    ("nombres",),
)
_CONNECTORS = {"de", "del", "la", "las", "los", "y"}


def _cased(word: str) -> str:
    if word.islower() or word.isupper():
        return "-".join(part[:1].upper() + part[1:].lower() for part in word.split("-"))
    return word


def find_names(
    text: str, *, expecting: str | None, stopwords: Collection[str]
) -> tuple[str | None, str | None]:
    """ "me llamo Ana Pérez Rojas" → ("Ana", "Pérez Rojas"): one given name and the rest when
    three words or fewer, two given names when four or more. A bare "Ana Pérez" counts only
    when names are awaited. Also returns which word positions were names."""
    words = _WORD.findall(text)
    folded = [fold(w) for w in words]

    def name_run(start: int) -> list[int]:
        run: list[int] = []
        i = start
        while i < len(words):
            word = folded[i]
            if word in _CONNECTORS and run and expecting == "names":
                # "de la Cruz": a connector stays only when a name follows it.
                j = i
                while j < len(words) and folded[j] in _CONNECTORS:
                    j += 1
                if j < len(words) and _name_like(words[j], folded[j], stopwords):
                    run.extend(range(i, j))
                    i = j
                    continue
                break
            if not _name_like(words[i], word, stopwords):
                break
            run.append(i)
            i += 1
        return run

    run: list[int] = []
    for i in range(len(words)):
        for trigger in _NAME_TRIGGERS:
            if tuple(folded[i : i + len(trigger)]) == trigger:
                candidate = name_run(i + len(trigger))
                minimum = 2 if trigger in (("soy",), ("nombre",)) else 1
                if len(candidate) >= minimum:
                    run = candidate
                    break
        if run:
            break
    if not run and expecting == "names":
        start = 0
        while start < len(words) and not words[start].isalnum():
            start += 1
        candidate = name_run(start)
        rest = [w for w in words[start + len(candidate) :] if w.isalnum()]
        if candidate and not rest:
            run = candidate
    if not run:
        return None, None
    parts = [words[i] for i in run]
    core = [i for i in run if folded[i] not in _CONNECTORS]
    given = 2 if len(core) >= 4 else 1
    first_end = run.index(core[given - 1]) + 1 if len(core) > given else len(run)
    first = " ".join(_cased(w) for w in parts[:first_end])
    last = " ".join(
        _cased(w) if fold(w) not in _CONNECTORS else w.lower() for w in parts[first_end:]
    )
    return first, last or None


def _name_like(word: str, folded: str, stopwords: Collection[str]) -> bool:
    return word.isalpha() and len(word) >= 2 and folded not in stopwords

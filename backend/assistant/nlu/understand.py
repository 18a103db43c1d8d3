"""``understand``: one message in, an ``Understanding`` out. Pure: no database, no network,
no state between calls (the conversation's state is the engine's)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from . import lexicon, times, when
from .catalog import find_procedure, find_professional
from .clinical import find_clinical
from .entities import ORDINALS, Numbers, find_choice, find_email, find_names
from .intents import guess_intent, is_injection
from .phrases import phrase_words
from .text import Speller
from .types import CatalogEntry, Intent, NamedEntry, Understanding

EXPECTING = frozenset({"dates", "choice", "names", "dni", "phone", "code", "yes_no", "email"})


def _vocabulary() -> tuple[set[str], set[str]]:
    phrases: list[str] = [p for table in lexicon.INTENT_PHRASES.values() for p in table]
    phrases += [*lexicon.YES_PHRASES, *lexicon.NO_PHRASES, *lexicon.INJECTION_PHRASES]
    phrases += [
        *lexicon.CLINICAL_WORDS,
        *lexicon.SWELLING,
        *lexicon.FACE,
        *lexicon.BLEEDING,
        *lexicon.NOT_STOPPING,
        *lexicon.FEVER,
        *lexicon.PAIN,
        *lexicon.BLOW,
        *lexicon.TOOTH_DAMAGE,
        *lexicon.BREATHING,
    ]
    phrases += [w for group in lexicon.ALIAS_GROUPS for w in group]
    words, stems = phrase_words(phrases)
    words |= set(when.WEEKDAYS) | set(when.MONTHS) | set(times.NUMBER_WORDS) | set(times.PARTS)
    words |= set(ORDINALS) | lexicon.COMMON_WORDS
    words |= {"pasado", "tomorrow", "today", "tonight", "weekend", "next", "week"}
    return {w for w in words if w.isalpha()}, stems


_WORDS, _STEMS = _vocabulary()
SPELLER = Speller(_WORDS, _STEMS, lexicon.SHORTHANDS)
# Words that end a name ("soy Luis Quispe y quiero..."): anything the lexicon knows.
NAME_STOPWORDS = frozenset(_WORDS | set(lexicon.SHORTHANDS) | lexicon.PROFESSIONAL_TITLES)


def understand(
    text: str,
    *,
    today: dt.date,
    catalog: Sequence[CatalogEntry] = (),
    professionals: Sequence[NamedEntry] = (),
    expecting: str | None = None,
) -> Understanding:
    """What one patient message says. ``today`` is the clinic's local date; ``expecting`` is
    the slot the conversation waits for (``"dates"``, ``"choice"``, ``"names"``, ``"dni"``,
    ``"phone"``, ``"code"``, ``"yes_no"``) and settles what a bare answer means: "2" is a
    choice only when a choice is awaited, "123456" a code only when a code is."""
    if expecting not in EXPECTING:
        expecting = None
    words = SPELLER.words(text)
    tokens = words.tokens
    plain = [t for t in tokens if t != ","]

    time_span, rest = times.find_time(words.text)
    dates = when.find_date(rest, today, day_numbers=expecting != "choice")
    numbers = Numbers(text, expecting=expecting)
    first_name, last_name = find_names(text, expecting=expecting, stopwords=NAME_STOPWORDS)
    name_words = {SPELLER.correct(w) for w in _name_words(first_name, last_name)}
    procedure_id = find_procedure(plain, catalog, skip=name_words)
    professional_id = find_professional(plain, professionals, skip=name_words)

    # A patient's own name says nothing of what they want or feel ("Huamán" is not
    # "humano", "Dolores" no pain).
    intent_tokens = tuple(t for t in tokens if t not in name_words) if name_words else tokens
    guess = guess_intent(intent_tokens, expecting=expecting)
    intent, score = guess.intent, guess.score
    if is_injection(words.text):
        intent, score = Intent.UNKNOWN, 0.0
    elif intent is Intent.UNKNOWN and expecting is None:
        if dates or time_span:
            intent, score = Intent.BOOK, 0.5  # "¿tienen algo para mañana?"
        elif procedure_id is not None:
            intent, score = Intent.PRICES, 0.5  # "¿ortodoncia?"
    return Understanding(
        intent=intent,
        score=score,
        clinical=find_clinical(intent_tokens),
        dates=dates,
        times=time_span,
        procedure_id=procedure_id,
        professional_id=professional_id,
        dni=numbers.dni,
        phone=numbers.phone,
        email=find_email(text),
        code=numbers.code,
        choice=find_choice(tokens, expecting=expecting),
        first_name=first_name,
        last_name=last_name,
        yes=guess.yes,
    )


def _name_words(*names: str | None) -> set[str]:
    from .text import fold

    return {w for name in names if name for w in fold(name).split()}

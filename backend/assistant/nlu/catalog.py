"""Which procedure of the clinic's catalog, and which professional, a message names.

Fuzzy, word by word: every word of an alias must meet a word of the message (rapidfuzz ratio
of at least 80 for words of five letters or more, exact below), so "limpiesa" finds
"Profilaxis (limpieza dental)" and "curaciones" finds "Curación con resina". The best entry
is the one whose matched aliases cover the most letters; a tie goes to the shorter name
("extracción" is "Extracción simple" before "Extracción de tercera molar").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Sequence

from rapidfuzz import fuzz

from . import lexicon
from .text import fold
from .types import CatalogEntry, NamedEntry

_SPLIT = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    return _SPLIT.findall(fold(text))


def _likeness(alias_word: str, word: str) -> float:
    """1 for the same word, the rapidfuzz ratio (0.8 to 1) for a near one, else 0."""
    if alias_word == word:
        return 1.0
    if len(alias_word) < 5 or len(word) < 4:
        return 0.0
    ratio = fuzz.ratio(alias_word, word) / 100
    return ratio if ratio >= 0.8 else 0.0


def _same_word(alias_word: str, word: str) -> bool:
    return _likeness(alias_word, word) > 0


def _covered(
    alias: list[str], words: Sequence[str], skip: Collection[str]
) -> dict[int, float] | None:
    """The message's words that the alias's words meet (position → likeness), or None if
    one of the alias's words meets none."""
    used: dict[int, float] = {}
    for alias_word in alias:
        for i, word in enumerate(words):
            if i not in used and word not in skip and (like := _likeness(alias_word, word)):
                used[i] = like
                break
        else:
            return None
    return used


def _aliases(entry: CatalogEntry, unique_words: set[str]) -> list[list[str]]:
    names = [entry.name, *entry.aliases]
    text = " " + " ".join(" ".join(_words(n)) for n in names) + " "
    phrases = {" ".join(_words(n)) for n in names}
    phrases.update(w for w in _words(entry.name) if w in unique_words)
    for inner in re.findall(r"\(([^)]*)\)", entry.name):
        phrases.add(" ".join(_words(inner)))
    for key, others in lexicon.DEFAULT_ALIASES.items():
        if f" {key} " in text:
            phrases.add(key)
            phrases.update(others)
    aliases = []
    for phrase in phrases:
        words = [w for w in phrase.split() if w not in lexicon.GENERIC_CATALOG_WORDS]
        if words:
            aliases.append(words)
    return aliases


def find_procedure(
    words: Sequence[str], catalog: Sequence[CatalogEntry], *, skip: Collection[str] = ()
) -> int | None:
    if not catalog:
        return None
    counts = Counter(w for entry in catalog for w in set(_words(entry.name)))
    unique = {
        w
        for w, n in counts.items()
        if n == 1 and w not in lexicon.GENERIC_CATALOG_WORDS and len(w) >= 4
    }
    # (letters covered, each weighed by its likeness; -name length; -id)
    best: tuple[float, int, int] | None = None
    for entry in catalog:
        covered: dict[int, float] = {}
        for alias in _aliases(entry, unique):
            for i, like in (_covered(alias, words, skip) or {}).items():
                covered[i] = max(like, covered.get(i, 0.0))
        letters = sum(len(words[i]) * like for i, like in covered.items())
        if letters:
            key = (letters, -len(entry.name), -entry.id)
            if best is None or key > best:
                best = key
    return -best[2] if best else None


def find_professional(
    words: Sequence[str], professionals: Sequence[NamedEntry], *, skip: Collection[str] = ()
) -> int | None:
    """A surname ("la doctora Torres"), or a given name right after a title or "con"
    ("con la doctora Carmen"). Words that are the patient's own name are skipped."""
    best: tuple[int, int] | None = None
    tied = False
    for person in professionals:
        parts = [w for w in _words(person.name) if w not in lexicon.PROFESSIONAL_TITLES]
        if not parts:
            continue
        given, surnames = parts[0], parts[1:]
        points = 0
        for i, word in enumerate(words):
            if word in skip or len(word) < 3:
                continue
            if any(_same_word(s, word) for s in surnames):
                points += 2
            elif _same_word(given, word):
                before = words[max(0, i - 3) : i]
                if any(b in lexicon.PROFESSIONAL_TITLES for b in before):
                    points += 1
        if points:
            if best is None or points > best[0]:
                best, tied = (points, person.id), False
            elif points == best[0]:
                tied = True
    return None if best is None or tied else best[1]

"""Which procedure of the clinic's catalog, and which professional, a message names.

Fuzzy, word by word: every word of an alias must meet a word of the message (rapidfuzz ratio
of at least 80 for words of five letters or more, exact below), so "limpiesa" finds
"Profilaxis (limpieza dental)" and "curaciones" finds "Curación con resina". The best entry
is the one whose matched aliases cover the most letters (ties: see ``find_procedure``).
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
    # A ratio of 0.8 needs lengths within a quarter of their sum of each other.
    if (
        len(alias_word) < 5
        or len(word) < 4
        or abs(len(alias_word) - len(word)) * 5 > len(alias_word) + len(word)
    ):
        return 0.0
    if len(alias_word) <= 6 and alias_word[0] != word[0]:
        return 0.0  # "carro" is not "sarro"
    ratio = fuzz.ratio(alias_word, word) / 100
    return ratio if ratio >= 0.8 else 0.0


def _same_word(alias_word: str, word: str) -> bool:
    return _likeness(alias_word, word) > 0


class _Meetings:
    """Which words of the message each alias word meets, computed once per word per call."""

    def __init__(self, words: Sequence[str], skip: Collection[str]):
        self.words = [w if w not in skip else "" for w in words]
        self._seen: dict[str, list[tuple[int, float]]] = {}

    def of(self, alias_word: str) -> list[tuple[int, float]]:
        found = self._seen.get(alias_word)
        if found is None:
            found = [
                (i, like)
                for i, word in enumerate(self.words)
                if word and (like := _likeness(alias_word, word))
            ]
            self._seen[alias_word] = found
        return found

    def covered(self, alias: list[str]) -> dict[int, float] | None:
        """The message's words that every alias word meets (position → likeness), or None
        when one alias word meets none."""
        used: dict[int, float] = {}
        for alias_word in alias:
            for i, like in self.of(alias_word):
                if i not in used:
                    used[i] = like
                    break
            else:
                return None
        return used


def _alias_words(phrase: str, dropped: frozenset[str] = lexicon.FUNCTION_WORDS) -> list[str]:
    return [w for w in phrase.split() if w not in dropped]


# DEFAULT_ALIASES, split once: catalog phrase → the word lists it brings.
_DEFAULT_ALIAS_WORDS: dict[str, list[list[str]]] = {
    key: [words for phrase in (key, *others) if (words := _alias_words(phrase))]
    for key, others in lexicon.DEFAULT_ALIASES.items()
}
_LONGEST_KEY = max(len(key.split()) for key in lexicon.DEFAULT_ALIASES)


def _aliases(
    names: list[list[str]], name: str, unique_words: set[str]
) -> list[tuple[list[str], bool]]:
    """An entry's aliases, each marked whether it is the entry's own: its name, its own
    aliases, the part in brackets, the words of its name no other entry has; and, not its
    own, the DEFAULT_ALIASES of the catalog words it holds."""
    phrases = {" ".join(words) for words in names}
    phrases.update(w for w in names[0] if w in unique_words)
    for inner in re.findall(r"\(([^)]*)\)", name):
        phrases.add(" ".join(_words(inner)))
    generic = lexicon.GENERIC_CATALOG_WORDS
    aliases = [(words, True) for phrase in phrases if (words := _alias_words(phrase, generic))]
    for words in names:
        for size in range(1, _LONGEST_KEY + 1):
            for start in range(len(words) - size + 1):
                key = " ".join(words[start : start + size])
                aliases += [(group, False) for group in _DEFAULT_ALIAS_WORDS.get(key, ())]
    return aliases


def find_procedure(
    words: Sequence[str], catalog: Sequence[CatalogEntry], *, skip: Collection[str] = ()
) -> int | None:
    if not catalog or not words:
        return None
    names = [[_words(n) for n in (entry.name, *entry.aliases)] for entry in catalog]
    counts = Counter(w for entry_names in names for w in set(entry_names[0]))
    unique = {
        w
        for w, n in counts.items()
        if n == 1 and w not in lexicon.GENERIC_CATALOG_WORDS and len(w) >= 4
    }
    meetings = _Meetings(words, skip)
    # The entry whose aliases cover the most letters of the message (each weighed by its
    # likeness); on a tie, the one covered more by its own name than by DEFAULT_ALIASES
    # ("brackets" is "Ortodoncia: instalación de brackets" before "Control de ortodoncia"),
    # then the one whose name starts with a matched word ("ortodoncia" is the same), then
    # the shorter name ("Exodoncia simple" before "Exodoncia de tercera molar").
    best: tuple[float, float, bool, int, int] | None = None
    for entry, entry_names in zip(catalog, names, strict=True):
        covered: dict[int, float] = {}
        own: dict[int, float] = {}
        for alias, is_own in _aliases(entry_names, entry.name, unique):
            for i, like in (meetings.covered(alias) or {}).items():
                covered[i] = max(like, covered.get(i, 0.0))
                if is_own:
                    own[i] = max(like, own.get(i, 0.0))
        if not covered:
            continue
        content = [w for w in entry_names[0] if w not in lexicon.FUNCTION_WORDS]
        starts = bool(content) and any(_same_word(content[0], words[i]) for i in covered)
        key = (
            round(sum(len(words[i]) * like for i, like in covered.items()), 3),
            round(sum(len(words[i]) * like for i, like in own.items()), 3),
            starts,
            -len(entry.name),
            -entry.id,
        )
        if best is None or key > best:
            best = key
    return -best[4] if best else None


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

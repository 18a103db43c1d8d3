"""From what the patient typed to the folded words every rule reads.

``normalize`` lower-cases, drops accents and emoji (a thumbs-up is "ok"), squeezes repeated
letters ("holaaa"), expands shorthands ("pa", "xq", "grax") and corrects typos against the
lexicon's own words with rapidfuzz ("resevar" is "reservar"). Nothing here is cached: the
words are the patient's own.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

EMOJI_WORDS = {
    "👍": " ok ",
    "👌": " ok ",
    "✅": " ok ",
    "✔": " ok ",
    "🙆": " ok ",
    "👎": " no ",
    "❌": " no ",
    "🙅": " no ",
    "🙏": " gracias ",
}
_PLAIN = str.maketrans("áéíóúàèìòùäëïöüâêîôûñç", "aeiouaeiouaeiouaeiounc")
_AM_PM = re.compile(r"\b([ap])\s?\.\s?m\b\.?")
_X_FAVOR = re.compile(r"\bx\s*(?=fa(?:vor)?\b)")
_REPEATS = re.compile(r"([a-z])\1{2,}")
# "1ro", "2da", "3er": ordinals written with digits.
_ORDINAL_DIGITS = re.compile(r"\b([1-8]) ?(?:ro|ra|ero|era|er|do|da|to|ta|mo|ma|vo|va|°|º)\b")
_ORDINAL_WORDS = {
    "1": "primero",
    "2": "segundo",
    "3": "tercero",
    "4": "cuarto",
    "5": "quinto",
    "6": "sexto",
    "7": "septimo",
    "8": "octavo",
}
# Words, numbers, and the dates and times written with signs ("15/12", "4:30").
_TOKEN = re.compile(r"\d{1,4}[:/.\-]\d{1,2}(?:[/.\-]\d{2,4})?|\d+|[a-z]+|[,;.!?]")


def fold(text: str) -> str:
    """Lower case, no accents ("ñ" becomes "n"), emoji as words or dropped."""
    for emoji, word in EMOJI_WORDS.items():
        text = text.replace(emoji, word)
    text = text.lower().translate(_PLAIN)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    text = _AM_PM.sub(r" \1m ", text)
    text = _ORDINAL_DIGITS.sub(lambda m: _ORDINAL_WORDS[m.group(1)], text)
    return _REPEATS.sub(r"\1", text)


@dataclass(frozen=True)
class Words:
    tokens: tuple[str, ...]  # folded, shorthands expanded, typos corrected; "," ends a clause

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


class Speller:
    """Corrects a word to the nearest lexicon word: one edit for words of up to seven letters,
    two beyond. Short words (three letters or fewer) and known words are left alone."""

    def __init__(self, vocabulary: set[str], stems: set[str], shorthands: dict[str, str]):
        self.vocabulary = frozenset(vocabulary)
        self._choices = sorted(vocabulary)
        self._stems = (
            re.compile("^(?:" + "|".join(sorted(map(re.escape, stems))) + ")") if stems else None
        )
        self.shorthands = shorthands

    def known(self, word: str) -> bool:
        return word in self.vocabulary or bool(self._stems and self._stems.match(word))

    def correct(self, word: str) -> str:
        if len(word) <= 3 or not word.isalpha() or self.known(word):
            return word
        limit = 1 if len(word) <= 7 else 2
        found = process.extractOne(
            word, self._choices, scorer=Levenshtein.distance, score_cutoff=limit
        )
        return found[0] if found else word

    def words(self, text: str) -> Words:
        folded = _X_FAVOR.sub("por ", fold(text))
        tokens: list[str] = []
        for raw in _TOKEN.findall(folded):
            if raw in ".;!?":
                raw = ","
            expanded = self.shorthands.get(raw, raw)
            for token in expanded.split():
                tokens.append(self.correct(token))
        return Words(tuple(tokens))

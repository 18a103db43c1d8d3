"""The lexicon's phrase syntax, compiled to regular expressions over normalized words."""

from __future__ import annotations

import re
from collections.abc import Iterable

_GAP = r"(?:\S+ ){0,3}"


def compile_phrase(phrase: str) -> re.Pattern[str]:
    """``"cambi* ~ cita"`` → a word starting "cambi", up to three words, then "cita"."""
    parts: list[str] = []
    for word in phrase.split():
        if word == "~":
            parts.append(_GAP)
        elif word.endswith("*"):
            parts.append(re.escape(word[:-1]) + r"\S* ")
        else:
            parts.append(re.escape(word) + " ")
    body = "".join(parts)
    # Every word is followed by a space; the text is matched with a space at both ends.
    return re.compile(r"(?<= )" + body)


def compile_any(phrases: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{compile_phrase(p).pattern})" for p in phrases))


def padded(text: str) -> str:
    return f" {text} "


def phrase_words(phrases: Iterable[str]) -> tuple[set[str], set[str]]:
    """The plain words and the stems (``word*``) of some phrases, for the speller."""
    words: set[str] = set()
    stems: set[str] = set()
    for phrase in phrases:
        for word in phrase.split():
            if word == "~":
                continue
            if word.endswith("*"):
                stems.add(word[:-1])
            else:
                words.add(word)
    return words, stems


def whole_words(pattern: str) -> re.Pattern[str]:
    """A pattern that matches whole words of the space-padded text."""
    return re.compile(r"(?<= )" + pattern + r"(?= )")

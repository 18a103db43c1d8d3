"""Symptoms in a message: CLINICAL (a person should answer) or URGENT (seek care now)."""

from __future__ import annotations

from . import lexicon
from .phrases import compile_any, compile_phrase, padded
from .types import Clinical

_SYMPTOMS = [compile_phrase(p) for p in lexicon.CLINICAL_WORDS]
_SOFTENERS = compile_any(lexicon.CLINICAL_SOFTENERS)
_URGENT_RULES = [
    [compile_any(lexicon.SWELLING), compile_any(lexicon.FACE)],
    [compile_any(lexicon.BLEEDING), compile_any(lexicon.NOT_STOPPING)],
    [compile_any(lexicon.FEVER), compile_any(lexicon.PAIN)],
    [compile_any(lexicon.BLOW), compile_any(lexicon.TOOTH_DAMAGE)],
    [compile_any(lexicon.BREATHING)],
]


def _negated(text: str, start: int) -> bool:
    """A negation among the three words before ``start`` ("no me duele", "sin dolor")."""
    before = text[:start].split()[-3:]
    if "," in before:
        before = before[before.index(",") + 1 :]
    return any(word in lexicon.NEGATIONS for word in before)


def find_clinical(tokens: tuple[str, ...]) -> Clinical:
    text = _SOFTENERS.sub(" ", padded(" ".join(tokens)))
    if any(all(p.search(text) for p in rule) for rule in _URGENT_RULES):
        return Clinical.URGENT
    for pattern in _SYMPTOMS:
        for match in pattern.finditer(text):
            if not _negated(text, match.start()):
                return Clinical.CLINICAL
    return Clinical.NONE

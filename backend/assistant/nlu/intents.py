"""Which intent a message carries: weighted lexicon phrases, summed per intent."""

from __future__ import annotations

from dataclasses import dataclass

from . import lexicon
from .phrases import compile_any, compile_phrase, padded
from .types import Intent

_PHRASES = [
    (intent, compile_phrase(phrase), weight)
    for intent, phrases in lexicon.INTENT_PHRASES.items()
    for phrase, weight in phrases.items()
]
_INJECTION = compile_any(lexicon.INJECTION_PHRASES)
_YES = sorted((p.split() for p in lexicon.YES_PHRASES), key=len, reverse=True)
_NO = sorted((p.split() for p in lexicon.NO_PHRASES), key=len, reverse=True)


@dataclass(frozen=True)
class IntentGuess:
    intent: Intent
    score: float
    yes: bool | None


def is_injection(text: str) -> bool:
    return bool(_INJECTION.search(padded(text)))


def _starts_with(tokens: tuple[str, ...], phrases: list[list[str]]) -> int:
    """The length of the yes/no phrase that opens ``tokens`` (0: none)."""
    for words in phrases:
        if list(tokens[: len(words)]) == words:
            return len(words)
    return 0


def yes_or_no(tokens: tuple[str, ...], *, expecting: str | None) -> bool | None:
    """A yes or a no that opens the message ("sí, confirmo", "no, mejor el viernes"), is the
    whole of it, or (when a yes/no is awaited) closes it ("creo que sí")."""
    words = tokens
    if not words:
        return None
    first_clause = words[: words.index(",")] if "," in words else words
    if _starts_with(first_clause, _NO):
        return False
    if n := _starts_with(first_clause, _YES):
        rest = first_clause[n:]
        # "ya no puedo ir" is a no; "si puedo" a yes; "bueno, quiero..." a yes only if awaited.
        if rest and rest[0] == "no":
            return False if expecting == "yes_no" else None
        return True
    if expecting == "yes_no":
        tail = tuple(t for t in words if t != ",")[-2:]
        if tail and tail[-1] == "si":
            return True
        if tail and tail[-1] == "no":
            return False
    return None


def _bare_yes_or_no(tokens: tuple[str, ...]) -> bool:
    first_clause = tokens[: tokens.index(",")] if "," in tokens else tokens
    return any(list(first_clause) == words for words in (*_YES, *_NO))


def guess_intent(tokens: tuple[str, ...], *, expecting: str | None) -> IntentGuess:
    text = padded(" ".join(tokens))
    scores: dict[Intent, float] = dict.fromkeys(Intent, 0.0)
    for intent, pattern, weight in _PHRASES:
        if pattern.search(text):
            scores[intent] += weight
    yes = yes_or_no(tokens, expecting=expecting)
    if yes is not None:
        # Awaited, a yes or a no answers; unprompted, only a bare one does ("sí" to a
        # reminder), never the "no" of "no para de sangrar".
        if expecting in ("yes_no", "choice"):
            scores[Intent.CONFIRM if yes else Intent.DENY] += 3.0
        elif _bare_yes_or_no(tokens):
            scores[Intent.CONFIRM if yes else Intent.DENY] += 1.2
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top <= 0:
        return IntentGuess(Intent.UNKNOWN, 0.0, yes)
    score = min(1.0, 0.5 + top / 5) * top / (top + max(second, 0.0))
    return IntentGuess(best, round(score, 3), yes)

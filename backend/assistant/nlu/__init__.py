"""The assistant's language understanding: a lexicon with rapidfuzz, rules for dates and
times (``dateparser`` for the rest), no model and no network. See docs/assistant.md."""

from __future__ import annotations

from .lexicon import DEFAULT_ALIASES
from .types import (
    CatalogEntry,
    Clinical,
    DateSpan,
    Intent,
    NamedEntry,
    TimeSpan,
    Understanding,
)
from .understand import understand

__all__ = [
    "DEFAULT_ALIASES",
    "CatalogEntry",
    "Clinical",
    "DateSpan",
    "Intent",
    "NamedEntry",
    "TimeSpan",
    "Understanding",
    "understand",
]

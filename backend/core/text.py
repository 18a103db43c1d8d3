"""Short text as apps store it: one line, no control or invisible characters, or a coded
refusal (``INVALID_TEXT``, ``TOO_LONG``)."""

from __future__ import annotations

import unicodedata
from enum import StrEnum

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class TextError(StrEnum):
    INVALID_TEXT = "INVALID_TEXT"
    """The text holds control or invisible characters (or a line break in a one-line field)."""
    TOO_LONG = "TOO_LONG"
    """The text is longer than its field allows; the message says the limit."""


# Zero-width joiners stay (some scripts and emoji need them); every other format character
# (zero-width spaces, right-to-left overrides that could make an address or an alert read
# otherwise) is refused with the control characters.
_JOINERS = frozenset("\u200c\u200d")


def invisible(char: str) -> bool:
    """A control, surrogate or format character (other than the zero-width joiners)."""
    return unicodedata.category(char) in ("Cc", "Cs", "Cf") and char not in _JOINERS


def validate_line(value: str | None, *, max_length: int) -> str:
    """One line of text shown as is (a banner, an address): no control or invisible
    characters (NUL, line breaks, a right-to-left override…), runs of spaces folded."""
    value = value or ""
    if any(invisible(char) for char in value):
        raise ValidationError(
            _("Write it on one line, without control characters."), code=TextError.INVALID_TEXT
        )
    value = " ".join(value.split())
    if len(value) > max_length:
        raise ValidationError(
            _("At most %(max)d characters.") % {"max": max_length}, code=TextError.TOO_LONG
        )
    return value

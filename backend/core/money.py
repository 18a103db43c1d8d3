"""Exact money, for every domain that handles it: Decimal, two places, ROUND_HALF_UP (as
SUNAT and patients expect).

``MAX_AMOUNT`` is the one limit of a single amount that a client sends: a procedure's price,
a plan item's price or discount, a charge's unit price or base, a payment, an allocation, a
refund. It is what the narrowest money column holds: ``max_digits=10, decimal_places=2``
(a procedure's ``default_price``, a plan item's ``price`` and ``discount``, a performed
procedure's ``price``, which becomes a charge as it is). Billing's columns have 12 digits,
so they hold it with room for the IGV on top (at most 50%) and for a payment in dollars at
the largest exchange rate accepted (20 soles per dollar). A larger limit would let a price
through that its column cannot store (a database error, not a coded one); the 1,000,000.00
that billing used to check was a guess of what a clinic charges, not a limit of the data.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("99999999.99")  # 10 digits, 2 of them decimals


def money(value: Decimal | int | str) -> Decimal:
    """``value`` rounded half up to the cent."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def decimal_or_nan(value: Any) -> Decimal:
    """``value`` as a finite Decimal, or a quiet NaN for anything else (text that is no
    number, an infinity, a signalling NaN that would raise when compared)."""
    try:
        parsed = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return Decimal("NaN")
    return parsed if parsed.is_finite() else Decimal("NaN")

"""IGV arithmetic, exact: Decimal, two places, ROUND_HALF_UP.

A charge's ``amount`` is what the patient pays, tax included: with tax-included prices it is
the price; with tax-excluded prices the IGV is added per charge. A receipt's total is the sum
of its charges, and its subtotal and tax are split from that total, so the total is always
exactly what the charges say and ``total = subtotal + tax`` to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from backend.core.money import money


def charge_amount(base: Decimal, *, rate: Decimal, prices_include_tax: bool) -> Decimal:
    """What the patient pays for a charge whose price (after discount) is ``base``."""
    return money(base) if prices_include_tax else money(base * (1 + rate))


@dataclass(frozen=True)
class Split:
    subtotal: Decimal
    tax: Decimal
    total: Decimal


def split_total(total: Decimal, *, rate: Decimal) -> Split:
    """Subtotal and IGV inside a tax-included total."""
    total = money(total)
    subtotal = money(total / (1 + rate))
    return Split(subtotal=subtotal, tax=total - subtotal, total=total)

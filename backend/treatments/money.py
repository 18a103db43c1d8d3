"""Amounts and percentages of the catalog and of plans, refused with the treatments' codes
(the arithmetic and the limit are ``backend.core.money``'s)."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _

from backend.core.errors import field_error
from backend.core.money import CENT, MAX_AMOUNT, decimal_or_nan, money
from backend.treatments.errors import TreatmentError


def amount(value: Decimal | int | str | None, field: str) -> Decimal:
    """A non-negative amount with at most two decimals."""
    parsed = decimal_or_nan(value)
    if (
        not parsed.is_finite()
        or parsed < 0
        or parsed > MAX_AMOUNT
        or parsed != parsed.quantize(CENT)
    ):
        raise field_error(
            field,
            _("Give an amount from 0 to 99,999,999.99 with at most two decimals."),
            TreatmentError.INVALID_AMOUNT,
        )
    return parsed.quantize(CENT)


def percent_of(price: Decimal, percent: Decimal | int | str, field: str) -> Decimal:
    """``percent`` % of ``price``, rounded half up to the cent."""
    rate = decimal_or_nan(percent)
    if not rate.is_finite() or not Decimal(0) <= rate <= Decimal(100):
        raise field_error(field, _("A percentage from 0 to 100."), TreatmentError.INVALID_AMOUNT)
    return money(price * rate / Decimal(100))

"""Exact money: Decimal, two places, ROUND_HALF_UP (as SUNAT and patients expect)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from backend.treatments.errors import TreatmentError

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("99999999.99")


def money(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def amount(value: Decimal | int | str | None, field: str) -> Decimal:
    """A non-negative amount with at most two decimals."""
    try:
        parsed = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        parsed = Decimal("NaN")
    if (
        not parsed.is_finite()
        or parsed < 0
        or parsed > MAX_AMOUNT
        or parsed != parsed.quantize(CENT)
    ):
        raise ValidationError(
            {field: ValidationError(
                _("Give an amount from 0 to 99,999,999.99 with at most two decimals."),
                code=TreatmentError.INVALID_AMOUNT,
            )}
        )  # fmt: skip
    return parsed.quantize(CENT)


def percent_of(price: Decimal, percent: Decimal | int | str, field: str) -> Decimal:
    """``percent`` % of ``price``, rounded half up to the cent."""
    try:
        rate = Decimal(str(percent))
    except (InvalidOperation, ValueError, TypeError):
        rate = Decimal("NaN")
    if not rate.is_finite() or not Decimal(0) <= rate <= Decimal(100):
        raise ValidationError(
            {
                field: ValidationError(
                    _("A percentage from 0 to 100."), code=TreatmentError.INVALID_AMOUNT
                )
            }
        )
    return money(price * rate / Decimal(100))

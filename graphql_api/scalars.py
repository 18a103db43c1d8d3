"""Shared output types."""

from __future__ import annotations

from decimal import Decimal

import strawberry


@strawberry.type(description="An exact amount of money in a currency (ISO 4217).")
class Money:
    amount: Decimal
    currency: str

"""``Money``: an exact amount with its currency, as an output type (a plan's monthly price)."""

from __future__ import annotations

from decimal import Decimal

import strawberry


@strawberry.type(description="An exact amount of money in a currency (ISO 4217).")
class Money:
    amount: Decimal
    currency: str

"""What a check of an allowed call is given: where the call ran, who made it, the world it
ran against and its answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from backend.accounts.models import User
from tenants_core.models import Clinic
from tests.ids import pk_of


@dataclass
class Run:
    tenant: Clinic  # where the call was made: a clinic, or the platform (the public tenant)
    caller: User
    ids: dict[str, str]  # the world's global IDs and dates (tests/accounts/matrix_world.py)
    data: Any = None  # the operation's answer: ``body["data"][field]``
    extra: dict[str, Any] = field(default_factory=dict)  # what ``arrange`` left for ``check``

    def pk(self, name: str) -> int:
        return int(pk_of(self.ids[name]))

    def get(self, model: Any, name: str) -> Any:
        """The world's object ``name``, as it is now in the database."""
        return model.objects.get(pk=self.pk(name))


@dataclass(frozen=True)
class Effect:
    """``check(run)`` asserts, on the database and on the answer, that the call did what the
    specification says; ``arrange(run)`` first puts the world in the state the call needs
    (it may add variables to ``run.ids``). Both run in the schema the call was made in."""

    check: Callable[[Run], None]
    arrange: Callable[[Run], None] | None = None


def registry() -> tuple[dict[str, Effect], Callable[..., Any]]:
    """A table of effects and the decorator that fills it: ``@effect("query me")``."""
    table: dict[str, Effect] = {}

    def effect(operation: str, *, arrange: Callable[[Run], None] | None = None) -> Any:
        def register(check: Callable[[Run], None]) -> Callable[[Run], None]:
            assert operation not in table, operation
            table[operation] = Effect(check, arrange)
            return check

        return register

    return table, effect


def money(value: Any) -> Decimal:
    """A money answer (a string) or field, to compare by value: "120.00" == 120."""
    return Decimal(str(value))

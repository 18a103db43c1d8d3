"""Billing's roots: ``receipts`` (by patient and status), ``receipt`` and ``accountStatement``
(a custom root over the plain type ``Movement``, with its own selection strategy)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from backend.billing.models import ReceiptStatus
from tests.graphql_api.compiled.roots import OMIT, RootSpec, an_id, paging
from tests.graphql_api.compiled.world_billing import billing_of

MOVEMENT = ["at", "kind", "description", "amount", "balance", "__typename"]


def _patient(draw: Any, world: Any) -> str:
    """Mostly a patient with movements; else any ID ``an_id`` draws."""
    if draw(st.integers(0, 2)):
        return draw(st.sampled_from(billing_of(world).patients))
    return an_id(draw, world, "Patient")


def _receipts(draw: Any, world: Any) -> dict[str, Any]:
    arguments = paging(draw)
    if draw(st.integers(0, 2)) == 0:
        arguments["patientId"] = _patient(draw, world)
    status = draw(
        st.sampled_from([OMIT, OMIT, []])
        | st.lists(st.sampled_from([s.name for s in ReceiptStatus]), max_size=3)
    )
    if status is not OMIT:
        arguments["status"] = status
    return arguments


@st.composite
def _movement_selection(draw: Any) -> str:
    chosen = draw(st.lists(st.sampled_from(MOVEMENT), min_size=1, max_size=6, unique=True))
    parts = []
    for name in chosen:
        alias = draw(st.sampled_from([None, None, f"{name}Alias"]))
        text = f"{alias}: {name}" if alias else name
        if draw(st.integers(0, 5)) == 0:  # the same key again: GraphQL merges both
            text += f" {text}"
        if draw(st.integers(0, 9)) == 0:
            text = f"... on Movement {{ {text} }}"
        parts.append(text)
    return " ".join(parts)


ROOTS = [
    RootSpec("receipts", "Receipt", True, _receipts),
    RootSpec("receipt", "Receipt", False, lambda draw, w: {"id": an_id(draw, w, "Receipt")}),
    RootSpec(
        "accountStatement",
        "Movement",
        False,
        lambda draw, w: {"patientId": _patient(draw, w)},
        selection=lambda draw: draw(_movement_selection()),
    ),
]

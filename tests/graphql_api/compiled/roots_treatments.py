"""The chart's plans: ``treatmentPlans`` (by patient and status) and ``treatmentPlan``.

``TreatmentPlan.totals`` is an object computed from the plan (a ``Derived`` declaration), which
the generic selections do not know yet: these roots draw their own plan selections, with
``totals { … }`` and the other fields as ``selections.object_selection`` draws them."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from strawberry.relay import to_base64

from backend.treatments.models import PlanStatus
from tests.graphql_api.compiled.roots import OMIT, RootSpec, paging
from tests.graphql_api.compiled.roots_clinical import chart_patient
from tests.graphql_api.compiled.selections import PAGE_INFO, covered_fields, object_selection

TOTALS = ["gross", "discounts", "net", "done", "remaining", "__typename"]


@st.composite
def plan_selection(draw: Any) -> str:
    """A selection set's inside for ``TreatmentPlan``."""
    available = [*covered_fields("TreatmentPlan"), ("__typename", None)]
    chosen = draw(st.lists(st.sampled_from(available), min_size=1, max_size=8, unique=True))
    parts = []
    for name, target in chosen:
        alias = draw(st.sampled_from([None, None, None, f"{name}Alias"]))
        text = f"{alias}: {name}" if alias else name
        if name == "totals":
            totals = draw(st.lists(st.sampled_from(TOTALS), min_size=1, max_size=6, unique=True))
            text += " { " + " ".join(totals) + " }"
        elif target is not None:
            text += " { " + draw(object_selection(target, 2)) + " }"
        if draw(st.integers(0, 9)) == 0:
            text = f"... on TreatmentPlan {{ {text} }}"
        parts.append(text)
    return " ".join(parts)


@st.composite
def plans_connection_selection(draw: Any) -> str:
    parts = draw(
        st.lists(
            st.sampled_from(["totalCount", "edges", "pageInfo", "__typename"]),
            min_size=1,
            max_size=4,
            unique=True,
        )
    )
    texts = []
    for part in parts:
        if part == "edges":
            inner = draw(
                st.lists(
                    st.sampled_from(["node", "cursor", "__typename"]),
                    min_size=1,
                    max_size=3,
                    unique=True,
                )
            )
            edge = " ".join(
                f"node {{ {draw(plan_selection())} }}" if item == "node" else item for item in inner
            )
            texts.append(f"edges {{ {edge} }}")
        elif part == "pageInfo":
            fields = draw(st.lists(st.sampled_from(PAGE_INFO), min_size=1, unique=True))
            texts.append(f"pageInfo {{ {' '.join(fields)} }}")
        else:
            texts.append(part)
    return " ".join(texts)


def plan_id(draw: Any, world: Any) -> str:
    """Mostly a plan of this clinic (the refusals in the middle: hypothesis favours a list's
    ends); else another clinic's, nothing's, another type's."""
    kind = draw(
        st.sampled_from(["real"] * 4 + ["other_clinic", "nothing", "other_type"] + ["real"] * 4)
    )
    if kind == "real":
        return draw(st.sampled_from(world.ids["TreatmentPlan"]))
    if kind == "other_clinic":
        return draw(st.sampled_from(world.other_ids["TreatmentPlan"]))
    if kind == "nothing":
        return to_base64("TreatmentPlan", f"{world.clinic.pk}.999999")
    return draw(st.sampled_from(world.ids["Patient"]))


def _plans(draw: Any, world: Any) -> dict[str, Any]:
    arguments = paging(draw)
    if draw(st.integers(0, 3)):
        arguments["patientId"] = chart_patient(draw, world)
    status = draw(
        st.sampled_from([OMIT, OMIT, []])
        | st.lists(st.sampled_from([s.name for s in PlanStatus]), max_size=3)
    )
    if status is not OMIT:
        arguments["status"] = status
    return arguments


ROOTS = [
    RootSpec(
        "treatmentPlans",
        "TreatmentPlan",
        True,
        _plans,
        lambda draw: draw(plans_connection_selection()),
    ),
    RootSpec(
        "treatmentPlan",
        "TreatmentPlan",
        False,
        lambda draw, w: {"id": plan_id(draw, w)},
        lambda draw: draw(plan_selection()),
    ),
]

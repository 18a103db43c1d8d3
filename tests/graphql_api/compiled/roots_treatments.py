"""The chart's plans: ``treatmentPlans`` (by patient and status) and ``treatmentPlan``."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from strawberry.relay import to_base64

from backend.treatments.models import PlanStatus
from tests.graphql_api.compiled.roots import OMIT, RootSpec, paging
from tests.graphql_api.compiled.roots_clinical import chart_patient


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
    ),
    RootSpec(
        "treatmentPlan",
        "TreatmentPlan",
        False,
        lambda draw, w: {"id": plan_id(draw, w)},
    ),
]

"""The chart's clinical roots: ``medicalHistory``, ``medicalHistoryVersions`` and
``odontogram`` (a custom root, with its own selection strategy: ``at`` and the teeth, whose
findings are any selection of ``Finding``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st
from strawberry.relay import to_base64

from tests.graphql_api.compiled.roots import RootSpec, an_id
from tests.graphql_api.compiled.selections import object_selection
from tests.graphql_api.compiled.world_chart import INSTANTS

ZONES = [
    dt.UTC,
    dt.timezone(dt.timedelta(hours=-5)),
    dt.timezone(dt.timedelta(hours=5, minutes=45)),
    dt.timezone(dt.timedelta(hours=-9, minutes=-30)),
]


def chart_patient(draw: Any, world: Any) -> str:
    """Mostly a patient with a chart; else any patient (most have none), another clinic's
    (which has one there), nothing's, another type's."""
    # The refusals in the middle: hypothesis favours a list's ends.
    kind = draw(
        st.sampled_from(
            ["chart"] * 4 + ["other_clinic", "any", "nothing", "other_type"] + ["chart"] * 4
        )
    )
    if kind == "chart":
        return draw(st.sampled_from(world.ids["ChartPatient"]))
    if kind == "any":
        return an_id(draw, world, "Patient")
    if kind == "other_clinic":
        return draw(st.sampled_from(world.other_ids["ChartPatient"]))
    if kind == "nothing":
        return to_base64("Patient", f"{world.clinic.pk}.999999")
    return draw(st.sampled_from(world.ids["Chair"]))


def _at(draw: Any) -> str:
    """An instant of the chart's history (recorded and resolved ones exactly, microseconds
    too) in any offset, sometimes ``Z``. (Not one without an offset: the normal execution
    fails to echo it, an INTERNAL_ERROR whose request id no two answers share; test_chart.py
    checks those decline.)"""
    instant = draw(st.sampled_from(INSTANTS))
    if draw(st.integers(0, 4)) == 0:
        return instant.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return instant.astimezone(draw(st.sampled_from(ZONES))).isoformat()


def _odontogram_arguments(draw: Any, world: Any) -> dict[str, Any]:
    arguments = {"patientId": chart_patient(draw, world)}
    if draw(st.booleans()):
        arguments["at"] = _at(draw)
    return arguments


def _alias(draw: Any, name: str) -> str:
    alias = draw(st.sampled_from([None, None, None, f"{name}Alias"]))
    return f"{alias}: {name}" if alias else name


@st.composite
def tooth_selection(draw: Any) -> str:
    chosen = draw(
        st.lists(
            st.sampled_from(["tooth", "findings", "findings2", "__typename"]),
            min_size=1,
            max_size=4,
            unique=True,
        )
    )
    parts = []
    for name in chosen:
        if name.startswith("findings"):
            key = "findings" if name == "findings" else "moreFindings: findings"
            parts.append(f"{key} {{ {draw(object_selection('Finding'))} }}")
        else:
            parts.append(_alias(draw, name))
    return " ".join(parts)


def odontogram_selection(draw: Any) -> str:
    chosen = draw(
        st.lists(
            st.sampled_from(["at", "teeth", "__typename"]), min_size=1, max_size=3, unique=True
        )
    )
    parts = []
    for name in chosen:
        text = _alias(draw, name)
        if name == "teeth":
            text += f" {{ {draw(tooth_selection())} }}"
        if draw(st.integers(0, 9)) == 0:
            text = f"... on Odontogram {{ {text} }}"
        parts.append(text)
    return " ".join(parts)


ROOTS = [
    RootSpec(
        "medicalHistory",
        "MedicalHistory",
        False,
        lambda draw, w: {"patientId": chart_patient(draw, w)},
    ),
    RootSpec(
        "medicalHistoryVersions",
        "MedicalHistory",
        False,
        lambda draw, w: {"patientId": chart_patient(draw, w)},
    ),
    RootSpec("odontogram", "Odontogram", False, _odontogram_arguments, odontogram_selection),
]

"""The agenda's roots: ``appointments`` and ``appointment``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from backend.scheduling.models import AppointmentStatus
from tests.graphql_api.compiled.roots import OMIT, RootSpec, an_id, paging

ZONES = [
    dt.timezone(dt.timedelta(hours=-5)),
    dt.UTC,
    dt.timezone(dt.timedelta(hours=5, minutes=30)),
]


def _instant(draw: Any, world: Any) -> str:
    day = draw(st.sampled_from(world.days))
    hour = draw(st.integers(0, 23))
    zone = draw(st.sampled_from(ZONES))
    return dt.datetime.combine(day, dt.time(hour), tzinfo=zone).isoformat()


def _agenda(draw: Any, world: Any) -> dict[str, Any]:
    arguments = paging(draw)
    for name in ("from", "to"):
        if draw(st.booleans()):
            arguments[name] = _instant(draw, world)
    for name, type_name in (
        ("professionalId", "Professional"),
        ("chairId", "Chair"),
        ("patientId", "Patient"),
    ):
        if draw(st.integers(0, 4)) == 0:
            arguments[name] = an_id(draw, world, type_name)
    status = draw(
        st.sampled_from([OMIT, OMIT, []])
        | st.lists(st.sampled_from([s.name for s in AppointmentStatus]), max_size=3)
    )
    if status is not OMIT:
        arguments["status"] = status
    return arguments


ROOTS = [
    RootSpec("appointments", "Appointment", True, _agenda),
    RootSpec(
        "appointment", "Appointment", False, lambda draw, w: {"id": an_id(draw, w, "Appointment")}
    ),
]

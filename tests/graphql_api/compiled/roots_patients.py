"""The patients' roots: ``patients`` (list and search) and ``patient``."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.graphql_api.compiled.roots import RootSpec, an_id, paging


def _patients(draw: Any, world: Any) -> dict[str, Any]:
    arguments = paging(draw)
    if draw(st.booleans()):
        arguments["search"] = draw(st.sampled_from(world.search_words) | st.text(max_size=6))
    if draw(st.booleans()):
        arguments["includeArchived"] = draw(st.booleans())
    if draw(st.booleans()):
        arguments["orderBy"] = draw(
            st.sampled_from(["LAST_NAME", "LAST_NAME_DESC", "NEWEST", "OLDEST"])
        )
    return arguments


ROOTS = [
    RootSpec("patients", "Patient", True, _patients),
    RootSpec("patient", "Patient", False, lambda draw, w: {"id": an_id(draw, w, "Patient")}),
]

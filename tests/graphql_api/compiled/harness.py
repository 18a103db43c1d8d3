"""Both executions of one request, side by side: the normal one (``GRAPHQL_COMPILED_READS``
off) and the compiled one, through Django's whole stack with the clinic's Host and a real
token. ``equivalent`` asserts the two answers are the same bytes with the same status, and
says whether the compiled statement answered or declined."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.test import Client, override_settings

from backend.observability.metrics import COMPILED_READS

_REQUEST_ID = re.compile(rb'"requestId":"[0-9a-f]{32}"|\[request [0-9a-f]{32}\]')


def compiled_count() -> float:
    return COMPILED_READS.labels("compiled")._value.get()


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    compiled: bool


def answer(
    host: str,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
    *,
    compiled: bool = True,
) -> Answer:
    headers = {"HTTP_HOST": host}
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    before = compiled_count()
    with override_settings(GRAPHQL_COMPILED_READS=compiled):
        response = Client().post(
            "/graphql",
            data={"query": query, "variables": variables or {}},
            content_type="application/json",
            **headers,
        )
    return Answer(response.status_code, response.content, compiled_count() > before)


def equivalent(
    host: str, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> Answer:
    """The compiled answer, after checking it is byte for byte the normal one: twice, the
    first time through strawberry's execution (which plans the text), the second straight
    from the view (compiled/fast_path.py: planned and known valid)."""
    normal = answer(host, query, variables, token, compiled=False)
    assert not normal.compiled
    compiled = answer(host, query, variables, token)
    again = answer(host, query, variables, token)
    for each in (compiled, again):
        # Each request has its own id, quoted in its errors: the only bytes allowed to differ.
        same = _REQUEST_ID.sub(b"", each.body) == _REQUEST_ID.sub(b"", normal.body)
        assert (each.status, same) == (normal.status, True), (
            f"compiled={each.compiled}\nquery={query}\nvariables={variables}\n"
            f"normal:   {normal.body[:3000]!r}\ncompiled: {each.body[:3000]!r}"
        )
    assert again.compiled == compiled.compiled
    return compiled

"""CORS as a real browser enforces it: headless Chromium loads a page from another port of a
clinic's subdomain, calls the API on the suite's uvicorn (and on one whose database is down),
and reads each refusal's code and ``X-Request-ID``. A page of an origin that is not allowed
reads nothing. The screenshots are kept in ``test-artifacts/``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest

from tests.test_cors import REFUSALS, REQUEST_ID, Refusal

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.browser", "tests.own_postgres"]


def _requests(api_port: int, down_port: int) -> list[dict[str, Any]]:
    """The refusals, as the page's ``fetch()`` calls."""

    def request(refusal: Refusal) -> dict[str, Any]:
        port = down_port if refusal.database_down else api_port
        fields = asdict(refusal)
        return {**{k: fields[k] for k in ("id", "method", "headers", "body")},
                "url": refusal.url(port)}  # fmt: skip

    return [request(refusal) for refusal in REFUSALS]


def _call_all(chromium, page_url: str, requests: list[dict[str, Any]], screenshot: str):
    def visit(page: Any) -> list[dict[str, Any]]:
        page.goto(page_url)
        return page.evaluate("requests => window.callAll(requests)", requests)

    return chromium.on_page(visit, screenshot=screenshot)


@pytest.fixture
def requests(uvicorn_server, database_down_server) -> list[dict[str, Any]]:
    return _requests(uvicorn_server.port, database_down_server.port)


def test_a_clinic_page_reads_every_refusal_and_its_request_id(chromium, page_server, requests):
    page_url = page_server.url("clinica1.localhost", "cors.html")

    visit = _call_all(chromium, page_url, requests, "cors-allowed-origin")

    assert [outcome["id"] for outcome in visit.result] == [r.id for r in REFUSALS]
    for refusal, outcome in zip(REFUSALS, visit.result, strict=True):
        assert outcome["error"] is None, (refusal.id, outcome, visit.console)
        assert (outcome["status"], outcome["code"]) == (refusal.status, refusal.code), outcome
        assert REQUEST_ID.match(outcome["requestId"] or ""), outcome
    assert not [line for line in visit.console if "CORS" in line], visit.console


def test_a_page_of_another_origin_reads_nothing(chromium, page_server, requests):
    page_url = page_server.url("127.0.0.1", "cors.html")  # not *.localhost: not allowed

    visit = _call_all(chromium, page_url, requests, "cors-disallowed-origin")

    for refusal, outcome in zip(REFUSALS, visit.result, strict=True):
        assert outcome["status"] is None, (refusal.id, outcome)
        assert outcome["code"] is None, (refusal.id, outcome)
        assert outcome["requestId"] is None, (refusal.id, outcome)
        assert outcome["error"] == "TypeError: Failed to fetch", (refusal.id, outcome)
    # Each one refused by the browser's CORS check, not lost on the network.
    blocked = [line for line in visit.console if "blocked by CORS policy" in line]
    for request in requests:
        assert [line for line in blocked if request["url"] in line], (request, visit.console)

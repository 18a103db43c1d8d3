"""GraphiQL in headless Chromium, with every request that does not go to the test server
refused by the browser (no CDN, no network): the page renders from its self-hosted files,
the sign-in panel signs in a seeded clinic user, ``{ currentClinic { name } }`` answers with
the clinic's name, the page's strict CSP is never violated, and the token is in no browser
storage. Screenshots: ``test-artifacts/graphiql-1-signed-in.png``, ``graphiql-2-answer.png``
and ``graphiql-wrong-password.png``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings

from tests.conftest import PLATFORM_ADMIN_EMAIL
from tests.factories import TEST_PASSWORD
from tests.graphiql.page import CLINIC_HOST, CLINIC_NAME

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.browser"]

TIMEOUT = 60_000  # ms: a 3.5 MB GraphiQL bundle parsed on a busy 2-core machine
# Recorded from before the page's first script (playwright's init scripts bypass the CSP).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""
CODEMIRROR_VALUES = """
selector => [...document.querySelectorAll(selector)]
  .map(element => element.CodeMirror ? element.CodeMirror.getValue() : "")
  .join("\\n")
"""
STORAGE = """() => JSON.stringify({
  local: Object.entries(localStorage), session: Object.entries(sessionStorage)
})"""


@dataclass
class Offline:
    """The browser context's network: the test server's loopback names only."""

    blocked: list[str] = field(default_factory=list)
    served: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.context.route("**/*", self._route)
        page.add_init_script(RECORD_VIOLATIONS)

    def _route(self, route: Any) -> None:
        url = route.request.url
        host = urlsplit(url).hostname or ""
        if host in ("127.0.0.1", "localhost") or host.endswith(".localhost"):
            self.served.append(url)
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("internetdisconnected")


def _open_graphiql(page: Any, url: str) -> None:
    page.goto(url, wait_until="load")
    page.locator(".graphiql-query-editor .CodeMirror").wait_for(timeout=TIMEOUT)
    page.get_by_role("button", name="Sign in").wait_for()


def _sign_in(page: Any, email: str, password: str) -> None:
    page.fill("#signin-email", email)
    page.fill("#signin-password", password)
    page.click("#signin-submit")


def _wait_signed_in(page: Any) -> None:
    """Until the panel says so and GraphiQL's Headers tab holds the token (React renders the
    new headers a moment after the panel changes)."""
    page.wait_for_selector("#signout:not([hidden])", timeout=TIMEOUT)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.graphiql-editor-tool .CodeMirror')]"
        ".some(e => e.CodeMirror.getValue().includes('Bearer '))",
        timeout=TIMEOUT,
    )


def _violations(page: Any) -> list[str]:
    return page.evaluate("window.__cspViolations")


def test_graphiql_renders_offline_signs_in_and_answers(chromium, uvicorn_server):
    offline = Offline()
    url = f"http://{CLINIC_HOST}:{uvicorn_server.port}/graphql"

    def visit(page: Any) -> dict[str, Any]:
        offline.attach(page)
        _open_graphiql(page, url)
        _sign_in(page, f"admin@{CLINIC_HOST.split('.')[0]}.pe", TEST_PASSWORD)
        _wait_signed_in(page)
        headers = page.evaluate(CODEMIRROR_VALUES, ".graphiql-editor-tool .CodeMirror")
        status = page.text_content("#signin-status")
        chromium.keep_screenshot(page, "graphiql-1-signed-in")
        query = page.evaluate(CODEMIRROR_VALUES, ".graphiql-query-editor .CodeMirror")
        page.click(".graphiql-execute-button")
        page.wait_for_function(
            "name => [...document.querySelectorAll('.graphiql-response .CodeMirror')]"
            ".some(e => e.CodeMirror.getValue().includes(name))",
            arg=CLINIC_NAME,
            timeout=TIMEOUT,
        )
        answer = page.evaluate(CODEMIRROR_VALUES, ".graphiql-response .CodeMirror")
        # Each dialog adds GraphiQL's one inline style (its scroll lock), which the CSP
        # allows by its hash: no violation either.
        for dialog in ("Open settings dialog", "Show Documentation Explorer", "Show History"):
            page.get_by_label(dialog).click()
            page.wait_for_timeout(300)
            page.keyboard.press("Escape")
        page.get_by_label("Show Documentation Explorer").wait_for()
        return {
            "headers": headers,
            "status": status,
            "query": query,
            "answer": answer,
            "storage": page.evaluate(STORAGE),
            "cookies": page.context.cookies(),
            "violations": _violations(page),
            "loading": page.locator("text=Loading…").count(),
        }

    done = chromium.on_page(visit, screenshot="graphiql-2-answer")
    seen = done.result

    # Rendered from this server alone: nothing was asked of any other host.
    assert offline.blocked == []
    assert any(u.endswith("/graphiql.min.js") for u in offline.served), offline.served
    assert seen["loading"] == 0
    # Signed in through the panel: the token is in the Headers tab...
    assert '"Authorization": "Bearer ' in seen["headers"], seen["headers"]
    token = seen["headers"].split("Bearer ", 1)[1].split('"', 1)[0]
    assert len(token) >= 32
    assert "admin@clinica1.pe" in seen["status"]
    # ...and the query ran with it.
    assert seen["query"].strip() == "{ currentClinic { name } }"
    assert CLINIC_NAME in seen["answer"]
    assert '"errors"' not in seen["answer"]
    # No CSP violation, neither as an event nor in the console.
    assert seen["violations"] == []
    assert not [m for m in done.console if "Content Security Policy" in m], done.console
    assert not [m for m in done.console if m.startswith("error")], done.console
    # The token is kept in the page's memory only: not in any storage, not in a cookie.
    assert token not in seen["storage"]
    assert "Bearer" not in seen["storage"]
    assert "graphiql:headers" not in seen["storage"]
    assert seen["cookies"] == []
    # GraphiQL's own storage is still used, its history included (which GraphiQL 3 would
    # store with the run's headers, token and all, without the page's storage wrapper).
    assert "graphiql:tabState" in seen["storage"]
    assert "graphiql:queries" in seen["storage"]
    assert "currentClinic" in seen["storage"]


def test_a_wrong_password_shows_the_apis_message(chromium, uvicorn_server, committed_clinic):
    # A clinic of this test's own: the failed sign-in it records touches no shared clinic.
    clinic = committed_clinic("giqlwrong")
    offline = Offline()
    url = f"http://{clinic.subdomain}.localhost:{uvicorn_server.port}/graphql"

    def visit(page: Any) -> dict[str, Any]:
        offline.attach(page)
        _open_graphiql(page, url)
        _sign_in(page, f"admin@{clinic.subdomain}.pe", "not-the-password")
        page.wait_for_selector("#signin-status.signin-error", timeout=TIMEOUT)
        return {
            "status": page.text_content("#signin-status"),
            "headers": page.evaluate(CODEMIRROR_VALUES, ".graphiql-editor-tool .CodeMirror"),
            "signed_out": page.is_hidden("#signout"),
            "violations": _violations(page),
        }

    done = chromium.on_page(visit, screenshot="graphiql-wrong-password")
    seen = done.result

    assert offline.blocked == []
    assert seen["status"] == "The email or the password is not correct."
    assert "Bearer" not in seen["headers"]
    assert seen["signed_out"] is True
    assert seen["violations"] == []


def test_signing_out_revokes_the_token_and_empties_the_headers(chromium, uvicorn_server):
    url = f"http://{CLINIC_HOST}:{uvicorn_server.port}/graphql"
    offline = Offline()

    def visit(page: Any) -> dict[str, Any]:
        offline.attach(page)
        _open_graphiql(page, url)
        _sign_in(page, "admin@clinica1.pe", TEST_PASSWORD)
        _wait_signed_in(page)
        headers = page.evaluate(CODEMIRROR_VALUES, ".graphiql-editor-tool .CodeMirror")
        with page.expect_response(lambda r: "SignOut" in (r.request.post_data or "")) as logout:
            page.click("#signout")
        page.wait_for_selector("#signin-submit:not([hidden])")
        page.wait_for_function(
            "() => ![...document.querySelectorAll('.graphiql-editor-tool .CodeMirror')]"
            ".some(e => e.CodeMirror.getValue().includes('Bearer '))",
            timeout=TIMEOUT,
        )
        return {
            "token": headers.split("Bearer ", 1)[1].split('"', 1)[0],
            "logout": logout.value.json(),
            "headers_after": page.evaluate(CODEMIRROR_VALUES, ".graphiql-editor-tool .CodeMirror"),
            "status": page.text_content("#signin-status"),
        }

    seen = chromium.on_page(visit).result
    after = uvicorn_server.post(
        CLINIC_HOST,
        {"query": "{ me { email } }"},
        headers={"Authorization": f"Bearer {seen['token']}"},
    )

    assert offline.blocked == []
    assert seen["logout"] == {"data": {"logout": True}}
    assert "Bearer" not in seen["headers_after"]
    assert seen["status"] == "Signed out. The token was revoked."
    assert after.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_platform_operator_signs_in_on_the_platforms_domain(chromium, uvicorn_server):
    url = f"http://{django_settings.BASE_DOMAIN}:{uvicorn_server.port}/graphql"
    offline = Offline()

    def visit(page: Any) -> dict[str, Any]:
        offline.attach(page)
        _open_graphiql(page, url)
        hint = page.text_content(".signin-hint")
        _sign_in(page, PLATFORM_ADMIN_EMAIL, TEST_PASSWORD)
        _wait_signed_in(page)
        page.click(".graphiql-execute-button")
        page.wait_for_function(
            "email => [...document.querySelectorAll('.graphiql-response .CodeMirror')]"
            ".some(e => e.CodeMirror.getValue().includes(email))",
            arg=PLATFORM_ADMIN_EMAIL,
            timeout=TIMEOUT,
        )
        return {
            "hint": hint,
            "query": page.evaluate(CODEMIRROR_VALUES, ".graphiql-query-editor .CodeMirror"),
            "storage": page.evaluate(STORAGE),
            "violations": _violations(page),
        }

    done = chromium.on_page(visit, screenshot="graphiql-platform")
    seen = done.result

    assert offline.blocked == []
    assert "platform operators sign in here" in seen["hint"]
    assert seen["query"].strip() == "{ me { email } }"
    assert "Bearer" not in seen["storage"]
    assert seen["violations"] == []

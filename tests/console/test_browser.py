"""The console as a person uses it: headless Chromium signs in on the platform's host, opens
the clinics, suspends one (its own, committed for uvicorn to see) with a reason, and the
clinic's domain then answers ``CLINIC_SUSPENDED`` over HTTP. Screenshots of each step are
kept in ``test-artifacts/``."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from backend.audit.models import AuditEvent
from tenants_core.models import Clinic, ClinicStatus
from tests.conftest import PLATFORM_ADMIN_EMAIL, ROOT, host_for
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.browser"]

ARTIFACTS = ROOT / "test-artifacts"  # as tests.browser keeps them (a plugin: not imported)
REASON = "Pago vencido (prueba en el navegador)"


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_an_operator_suspends_a_clinic_in_the_browser(
    chromium, uvicorn_server, committed_clinic, django_db_blocker
):
    clinic = committed_clinic("consolanavegador")
    host = host_for(clinic.subdomain)
    assert uvicorn_server.post(host, {"query": "{ __typename }"}).status_code == 200
    console = f"http://{settings.BASE_DOMAIN}:{uvicorn_server.port}/console/"

    def visit(page: Any) -> dict[str, Any]:
        page.goto(f"{console}login/")
        _shot(page, "console-1-login")
        page.fill("#id_username", PLATFORM_ADMIN_EMAIL)
        page.fill("#id_password", TEST_PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(console)
        figures = page.inner_text("#platform-metrics")
        _shot(page, "console-1b-front-page")
        page.goto(f"{console}tenants_core/clinic/?q={clinic.subdomain}")
        _shot(page, "console-2-clinics")
        listed = page.inner_text("#result_list")
        page.click(f"#result_list a:text-is('{clinic.subdomain}')")
        page.click("ul.object-tools a:text-is('Suspend')")
        page.fill("#id_reason", REASON)
        _shot(page, "console-3-suspend-form")
        page.click("input[type=submit]")
        page.wait_for_selector("ul.messagelist")
        return {
            "figures": figures,
            "listed": listed,
            "url": page.url,
            "message": page.text_content("ul.messagelist"),
        }

    visit = chromium.on_page(visit, screenshot="console-4-suspended")

    assert "Monthly recurring revenue" in visit.result["figures"]
    assert "USD" in visit.result["figures"]
    assert clinic.name in visit.result["listed"]
    assert visit.result["url"] == f"{console}tenants_core/clinic/{clinic.pk}/change/"
    assert visit.result["message"].strip() == f"Clinic {clinic.subdomain} is suspended."
    answer = uvicorn_server.post(host, {"query": "{ __typename }"})
    assert answer.status_code == 403
    assert answer.json()["errors"][0]["extensions"]["code"] == "CLINIC_SUSPENDED"
    with django_db_blocker.unblock():
        fresh = Clinic.objects.get(pk=clinic.pk)
        events = list(AuditEvent.objects.filter(action="clinic.suspend", entity_id=str(clinic.pk)))
    assert (fresh.status, fresh.suspension_reason) == (ClinicStatus.SUSPENDED, REASON)
    assert [(e.actor_email, e.changes["reason"]) for e in events] == [
        (PLATFORM_ADMIN_EMAIL, REASON)
    ]
    steps = (
        "console-1-login",
        "console-1b-front-page",
        "console-2-clinics",
        "console-3-suspend-form",
    )
    for step in steps:
        assert (ARTIFACTS / f"{step}.png").stat().st_size > 0


def test_the_console_is_not_on_a_clinic_host_in_the_browser(chromium, uvicorn_server):
    url = f"http://{host_for('clinica1')}:{uvicorn_server.port}/console/login/"

    def visit(page: Any) -> tuple[int, str]:
        response = page.goto(url)
        return response.status, page.inner_text("body")

    status, body = chromium.on_page(visit).result

    assert status == 404
    assert '"NOT_FOUND"' in body

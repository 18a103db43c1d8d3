"""The confirm/cancel page in a real headless Chromium, at a phone's width (360×740), against
uvicorn: the patient reads the Spanish page, taps a button, sees the answer, and the database
has it. The screenshots are kept in ``test-artifacts/``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from backend.core.tenancy import clinic_context
from backend.scheduling.models import Appointment, AppointmentStatus
from tests.notifications.test_link_page import Booked, spanish

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.browser"]

PHONE = {"width": 360, "height": 740}


@dataclass
class Seen:
    before: str
    after: str
    overflow: int  # how many pixels the page is wider than the phone
    smallest_button: float  # the lowest height of a button or button-like link
    button_colour: str
    origins: list[str | None] = field(default_factory=list)


@pytest.fixture
def committed_booking(committed_clinic, django_db_blocker):
    clinic = committed_clinic("enlace-movil")
    with django_db_blocker.unblock(), clinic_context(clinic):
        booked = Booked(clinic, first_name="Lucía")
    return booked


def _status(booked: Booked, django_db_blocker: Any) -> Appointment:
    with django_db_blocker.unblock(), clinic_context(booked.clinic):
        return Appointment.objects.get(pk=booked.appointment.pk)


def _url(booked: Booked, server: Any) -> str:
    return f"http://{booked.clinic.subdomain}.localhost:{server.port}{booked.path}"


def _measure(page: Any) -> tuple[int, float]:
    return page.evaluate(
        """() => [
            document.documentElement.scrollWidth - window.innerWidth,
            Math.min(...[...document.querySelectorAll('button, a.button')]
                .map(e => e.getBoundingClientRect().height)),
        ]"""
    )


def _post_origins(page: Any) -> list[str | None]:
    origins: list[str | None] = []
    page.on(
        "request",
        lambda request: (
            origins.append(request.headers.get("origin")) if request.method == "POST" else None
        ),
    )
    return origins


def test_a_patient_confirms_on_a_phone(
    chromium, uvicorn_server, committed_booking, django_db_blocker
):
    url = _url(committed_booking, uvicorn_server)

    def look(page: Any) -> str:
        page.set_viewport_size(PHONE)
        page.goto(url)
        return page.inner_text("body")

    opened = chromium.on_page(look, screenshot="link_page_open")  # the page as it first opens
    assert "Confirmar cita" in opened.result

    def visit(page: Any) -> Seen:
        page.set_viewport_size(PHONE)
        origins = _post_origins(page)
        page.goto(url)
        before = page.inner_text("body")
        overflow, smallest = _measure(page)
        confirm = page.get_by_role("button", name="Confirmar cita")
        colour = confirm.evaluate("e => getComputedStyle(e).backgroundColor")
        confirm.click()
        page.get_by_text("¡Cita confirmada!").wait_for()
        return Seen(before, page.inner_text("body"), overflow, smallest, colour, origins)

    seen = chromium.on_page(visit, screenshot="link_page_confirm")

    page = seen.result
    assert "Hola, Lucía: ¿confirma su cita?" in page.before
    assert spanish(committed_booking.starts_at).capitalize() in page.before
    assert "Dra. Carmen Ríos" in page.before
    assert "Endodoncia" not in page.before
    assert "¡Cita confirmada!" in page.after
    assert page.overflow <= 0  # readable at 360 px: nothing to scroll sideways
    assert page.smallest_button >= 44  # a thumb's tap target
    assert page.button_colour == "rgb(21, 128, 61)"  # the nonce'd CSS was applied
    assert page.origins == [f"http://enlace-movil.localhost:{uvicorn_server.port}"]
    assert not [line for line in seen.console if "Content Security Policy" in line], seen.console
    assert _status(committed_booking, django_db_blocker).status == AppointmentStatus.CONFIRMED


def test_a_patient_cancels_on_a_phone_with_a_reason(
    chromium, uvicorn_server, committed_booking, django_db_blocker
):
    url = _url(committed_booking, uvicorn_server)

    def visit(page: Any) -> Seen:
        page.set_viewport_size(PHONE)
        page.goto(url)
        page.get_by_role("link", name="Cancelar cita").click()
        page.get_by_text("¿Seguro que desea cancelar su cita?").wait_for()
        before = page.inner_text("body")
        overflow, smallest = _measure(page)
        page.get_by_label("Motivo (opcional)").fill("Tengo un viaje")
        page.get_by_role("button", name="Sí, cancelar la cita").click()
        page.get_by_text("Cita cancelada; el horario quedó libre").wait_for()
        return Seen(before, page.inner_text("body"), overflow, smallest, "")

    seen = chromium.on_page(visit, screenshot="link_page_cancel")

    assert "Volver" in seen.result.before
    assert "Cita cancelada; el horario quedó libre" in seen.result.after
    assert seen.result.overflow <= 0
    assert seen.result.smallest_button >= 44
    cancelled = _status(committed_booking, django_db_blocker)
    assert cancelled.status == AppointmentStatus.CANCELLED
    assert cancelled.cancellation_reason == "Tengo un viaje"

"""The patient's confirm/cancel page (``/c/<token>``) through Django's full stack, with the
clinic's Host: what it shows, what it changes, and every refusal changing nothing."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core import signing
from django.test import Client
from django_tenants.utils import tenant_context

from backend.accounts.models import Role, User
from backend.audit.models import AuditEvent
from backend.notifications import links
from backend.patients.models import Patient
from backend.resources.models import Chair, Professional
from backend.scheduling.models import Appointment, AppointmentStatus
from backend.scheduling.services import appointment_schedule
from tenants_core.models import Clinic
from tests.dates import MONDAY, SANTIAGO, clinic_today, lima
from tests.factories import ChairFactory, PatientFactory, ProfessionalFactory, StaffFactory, weekly

MONTHS = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
]
WEEKDAYS = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"]
HOST = "clinica1.localhost"


def spanish(moment: dt.datetime) -> str:
    """ "lunes 3 de diciembre, 10:30", written here from the calendar, not by the code."""
    return (
        f"{WEEKDAYS[moment.weekday()]} {moment.day} de {MONTHS[moment.month - 1]}, {moment:%H:%M}"
    )


class Booked:
    """An appointment booked through the scheduling service, and the objects around it."""

    def __init__(self, clinic: Clinic, *, first_name: str = "Rosa", suffix: str = "") -> None:
        self.clinic = clinic
        with tenant_context(clinic):
            self.receptionist: User = StaffFactory(
                email=f"recepcion{suffix}@{clinic.subdomain}.pe", role=Role.RECEPTIONIST
            )
            self.professional: Professional = ProfessionalFactory(
                full_name=f"Dra. Carmen Ríos{suffix}", hours=weekly(range(5), (8, 18))
            )
            self.chair: Chair = ChairFactory(name=f"Sillón enlace{suffix}")
            self.patient: Patient = PatientFactory(first_name=first_name, last_name="Huamán")
            self.starts_at = lima(MONDAY, 10, 30)
            self.appointment = self.book()
            self.token = links.link_token(appointment_id=self.appointment.pk)

    def book(self) -> Appointment:
        with tenant_context(self.clinic):
            return appointment_schedule(
                actor=self.receptionist,
                patient=self.patient,
                professional=self.professional,
                chair=self.chair,
                starts_at=self.starts_at,
                ends_at=self.starts_at + dt.timedelta(minutes=30),
                reason="Endodoncia pieza 36",
                notes="Alergia a la penicilina",
            )

    def status(self) -> str:
        with tenant_context(self.clinic):
            return Appointment.objects.get(pk=self.appointment.pk).status

    def reload(self) -> Appointment:
        with tenant_context(self.clinic):
            return Appointment.objects.get(pk=self.appointment.pk)

    @property
    def path(self) -> str:
        return f"/c/{self.token}"


@pytest.fixture
def booked(clinic1: Clinic) -> Booked:
    return Booked(clinic1)


def get(client: Client, path: str, host: str = HOST, **headers: Any) -> Any:
    return client.get(path, HTTP_HOST=host, **headers)


def form_key(response: Any) -> str:
    match = re.search(r'name="key" value="([^"]+)"', response.content.decode())
    assert match, response.content.decode()
    return match.group(1)


def post(
    client: Client, booked: Booked, action: str, *, key: str | None = None, **extra: Any
) -> Any:
    if key is None:
        key = form_key(get(client, booked.path))
    data = {"key": key, "action": action, **extra.pop("data", {})}
    return client.post(booked.path, data, HTTP_HOST=HOST, **extra)


def text(response: Any) -> str:
    return response.content.decode()


def patient_events(booked: Booked) -> int:
    with tenant_context(booked.clinic):
        return AuditEvent.objects.filter(
            action="appointment.patient_respond", entity_id=str(booked.appointment.pk)
        ).count()


# --- what the page shows ----------------------------------------------------------------


def test_a_valid_link_shows_the_appointment_in_spanish_and_nothing_clinical(client, booked):
    response = get(client, booked.path)

    assert response.status_code == 200
    body = text(response)
    assert '<html lang="es">' in body
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in body
    assert "Clínica Dental Norte" in body
    assert "Hola, Rosa" in body
    assert spanish(booked.starts_at).capitalize() in body
    assert "Dra. Carmen Ríos" in body
    assert "Confirmar cita" in body
    assert "Cancelar cita" in body
    for secret in (
        "Huamán",
        "Endodoncia",
        "pieza 36",
        "penicilina",
        booked.patient.document_number,
    ):
        assert secret not in body, secret
    assert "<script" not in body


def test_the_page_carries_its_security_headers(client, booked):
    response = get(client, booked.path)

    csp = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp)
    assert nonce
    assert f'<style nonce="{nonce.group(1)}">' in text(response)
    assert csp.startswith("default-src 'none';")
    assert "form-action 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src" not in csp  # nothing but default-src 'none' for scripts
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "strict-origin"
    assert response["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert get(client, booked.path)["Content-Security-Policy"] != csp  # a nonce per response


def test_the_page_shows_the_clinic_local_time(client, clinic1, booked):
    clinic1.timezone = "America/Santiago"
    clinic1.save(update_fields=["timezone"])
    try:
        response = get(client, booked.path)
    finally:
        clinic1.timezone = "America/Lima"
        clinic1.save(update_fields=["timezone"])

    santiago = booked.starts_at.astimezone(SANTIAGO)  # UTC-3 or -4, never Lima's -5
    assert f"{santiago:%H:%M}" in text(response)
    assert "10:30" not in text(response)


# --- confirming and cancelling ----------------------------------------------------------


def test_confirm_makes_the_appointment_confirmed(client, booked):
    response = post(client, booked, "confirm")

    assert response.status_code == 200
    assert "¡Cita confirmada!" in text(response)
    assert booked.status() == AppointmentStatus.CONFIRMED
    assert patient_events(booked) == 1


def test_a_second_confirm_changes_nothing_more(client, booked):
    key = form_key(get(client, booked.path))
    post(client, booked, "confirm", key=key)

    again = post(client, booked, "confirm", key=key)

    assert again.status_code == 200
    assert "¡Cita confirmada!" in text(again)
    assert booked.status() == AppointmentStatus.CONFIRMED
    assert patient_events(booked) == 1


def test_an_already_confirmed_appointment_says_so_and_can_still_be_cancelled(client, booked):
    post(client, booked, "confirm")

    body = text(get(client, booked.path))

    assert "su cita está confirmada" in body
    assert "Confirmar cita" not in body
    assert "Cancelar cita" in body


def test_cancel_asks_first_then_frees_the_slot_with_the_reason(client, booked):
    ask = get(client, booked.path + "?cancelar")
    assert ask.status_code == 200
    assert "¿Seguro que desea cancelar su cita?" in text(ask)
    assert booked.status() == AppointmentStatus.SCHEDULED  # asking changes nothing

    response = post(
        client, booked, "cancel", key=form_key(ask), data={"reason": "  Viajo   ese día "}
    )

    assert response.status_code == 200
    assert "Cita cancelada; el horario quedó libre" in text(response)
    cancelled = booked.reload()
    assert cancelled.status == AppointmentStatus.CANCELLED
    assert cancelled.cancellation_reason == "Viajo ese día"
    again = booked.book()  # the same professional, chair and time: the slot is free
    assert again.pk != cancelled.pk


def test_a_nul_in_the_reason_is_dropped_not_a_500(client, booked):
    response = post(client, booked, "cancel", data={"reason": "Viajo\x00 ese día"})

    assert response.status_code == 200
    cancelled = booked.reload()
    assert cancelled.status == AppointmentStatus.CANCELLED
    assert cancelled.cancellation_reason == "Viajo ese día"


def test_cancel_without_a_reason_records_the_default_one(client, booked):
    post(client, booked, "cancel")

    cancelled = booked.reload()
    assert cancelled.status == AppointmentStatus.CANCELLED
    assert cancelled.cancellation_reason  # the service's own "cancelled by the patient (link)"


def test_a_second_cancel_is_a_friendly_page_not_an_error(client, booked):
    key = form_key(get(client, booked.path))
    post(client, booked, "cancel", key=key)

    again = post(client, booked, "cancel", key=key)

    assert again.status_code == 409
    assert "Esta cita fue cancelada" in text(again)
    assert "Confirmar cita" not in text(again)
    assert "Cancelar cita" not in text(again)
    assert patient_events(booked) == 1


def test_a_cancelled_appointment_offers_no_buttons(client, booked):
    post(client, booked, "cancel")

    body = text(get(client, booked.path))

    assert "Esta cita fue cancelada" in body
    assert "Confirmar cita" not in body
    assert "Cancelar cita" not in body
    confirm = post(client, booked, "confirm", key=links.form_key(booked.token))
    assert confirm.status_code == 409
    assert booked.status() == AppointmentStatus.CANCELLED


def test_a_past_appointment_says_so_and_cannot_be_answered(client, clinic1, booked):
    with tenant_context(clinic1):
        past = Appointment.objects.create(
            patient=booked.patient,
            professional=booked.professional,
            chair=booked.chair,
            starts_at=lima(clinic_today() - dt.timedelta(days=3), 9),
            ends_at=lima(clinic_today() - dt.timedelta(days=3), 9, 30),
        )
        token = links.link_token(appointment_id=past.pk)
    path = f"/c/{token}"

    page = get(client, path)
    answer = client.post(path, {"key": links.form_key(token), "action": "confirm"}, HTTP_HOST=HOST)

    assert page.status_code == 200
    assert "ya no se puede confirmar ni cancelar" in text(page)
    assert "Confirmar cita" not in text(page)
    assert "Cancelar cita" not in text(page)
    assert answer.status_code == 409
    with tenant_context(clinic1):
        assert Appointment.objects.get(pk=past.pk).status == AppointmentStatus.SCHEDULED


# --- refusals: each a Spanish page, nothing changed -------------------------------------


def test_another_clinics_token_is_refused_on_this_domain(client, clinic1, clinic2):
    other = Booked(clinic2, suffix="-2")

    page = get(client, other.path, host=HOST)
    answer = client.post(
        other.path, {"key": links.form_key(other.token), "action": "cancel"}, HTTP_HOST=HOST
    )

    for response in (page, answer):
        assert response.status_code == 404
        assert "Este enlace no es válido" in text(response)
        assert "Rosa" not in text(response)
        assert "Carmen" not in text(response)
    assert other.status() == AppointmentStatus.SCHEDULED
    assert get(client, other.path, host="clinica2.localhost").status_code == 200


def test_the_platform_domain_serves_no_link(client, booked):
    response = get(client, booked.path, host="localhost")

    assert response.status_code == 404
    assert "Rosa" not in text(response)


def test_a_tampered_token_is_refused(client, booked):
    payload, _, signature = booked.token.rpartition(":")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    forged = signing.dumps({"s": "clinica1", "a": booked.appointment.pk, "n": None}, salt="x")

    for token in (f"{payload}:{flipped}", forged, "nada", booked.token[:-3]):
        response = get(client, f"/c/{token}")
        assert response.status_code == 404, token
        assert "Este enlace no es válido" in text(response)
        answer = client.post(
            f"/c/{token}", {"key": links.form_key(token), "action": "cancel"}, HTTP_HOST=HOST
        )
        assert answer.status_code == 404
    assert booked.status() == AppointmentStatus.SCHEDULED


def test_an_expired_token_is_gone(client, clinic1, booked, monkeypatch):
    with tenant_context(clinic1):
        signed_at = 1_700_000_000.0
        monkeypatch.setattr("time.time", lambda: signed_at)
        old = links.link_token(appointment_id=booked.appointment.pk)
        monkeypatch.setattr("time.time", lambda: signed_at + links.MAX_AGE_SECONDS + 60)
        assert links.link_verify(old) is None
        monkeypatch.undo()

    page = get(client, f"/c/{old}")
    answer = client.post(
        f"/c/{old}", {"key": links.form_key(old), "action": "cancel"}, HTTP_HOST=HOST
    )

    assert page.status_code == 410
    assert "Este enlace caducó" in text(page)
    assert "Rosa" not in text(page)
    assert answer.status_code == 410
    assert booked.status() == AppointmentStatus.SCHEDULED


def test_another_clinics_expired_token_is_not_found_not_gone(client, clinic2, monkeypatch):
    other = Booked(clinic2, suffix="-3")
    with tenant_context(clinic2):
        monkeypatch.setattr("time.time", lambda: 1_700_000_000.0)
        old = links.link_token(appointment_id=other.appointment.pk)
        monkeypatch.undo()

    assert get(client, f"/c/{old}", host="clinica2.localhost").status_code == 410
    response = get(client, f"/c/{old}")  # on clinica1's domain: its age is none of its business
    assert response.status_code == 404
    assert "Este enlace no es válido" in text(response)


def test_a_post_without_the_form_key_changes_nothing(client, booked):
    missing = client.post(booked.path, {"action": "cancel"}, HTTP_HOST=HOST)
    other = Booked(booked.clinic, first_name="Ana", suffix="-b")
    borrowed = post(client, booked, "cancel", key=links.form_key(other.token))

    for response in (missing, borrowed):
        assert response.status_code == 400
        assert "Vuelva a elegir su respuesta" in text(response)
    assert booked.status() == AppointmentStatus.SCHEDULED


def test_an_old_form_key_changes_nothing(client, booked, monkeypatch):
    signed_at = 1_700_000_000.0
    monkeypatch.setattr("time.time", lambda: signed_at)
    stale = links.form_key(booked.token)
    monkeypatch.undo()

    response = post(client, booked, "confirm", key=stale)

    assert response.status_code == 400
    assert booked.status() == AppointmentStatus.SCHEDULED


def test_a_post_from_another_origin_changes_nothing(client, booked):
    key = form_key(get(client, booked.path))
    cases = (
        {"HTTP_ORIGIN": "http://evil.example"},
        {"HTTP_ORIGIN": "null"},
        {"HTTP_ORIGIN": "http://clinica2.localhost"},
        {"HTTP_REFERER": "http://evil.example/c/x"},
    )
    for headers in cases:
        response = post(client, booked, "cancel", key=key, **headers)
        assert response.status_code == 403, headers
        assert "No pudimos registrar su respuesta" in text(response)
    assert booked.status() == AppointmentStatus.SCHEDULED

    same = post(client, booked, "confirm", key=key, HTTP_ORIGIN=f"http://{HOST}")
    assert same.status_code == 200
    assert booked.status() == AppointmentStatus.CONFIRMED


def test_an_unknown_action_or_method_changes_nothing(client, booked):
    unknown = post(client, booked, "delete")
    put = client.put(booked.path, HTTP_HOST=HOST)

    assert unknown.status_code == 400
    assert put.status_code == 405
    assert put["Allow"] == "GET, POST"
    assert booked.status() == AppointmentStatus.SCHEDULED


def test_a_link_to_a_deleted_appointment_is_not_found(client, clinic1):
    with tenant_context(clinic1):
        token = links.link_token(appointment_id=987_654)

    response = get(client, f"/c/{token}")

    assert response.status_code == 404
    assert "Este enlace no es válido" in text(response)


def test_each_use_is_logged_without_the_token(client, booked, caplog):
    caplog.set_level("INFO", logger="backend.notifications.views")

    get(client, booked.path)
    get(client, "/c/nada")

    messages = [record.getMessage() for record in caplog.records]
    assert f"link page: GET appointment={booked.appointment.pk} notification=None" in messages
    assert "link page: invalid link" in messages
    assert not [m for m in messages if booked.token in m]

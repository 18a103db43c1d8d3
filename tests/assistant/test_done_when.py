"""Issue 16's "done when", over real processes on a clinic seeded as ``scripts/dev`` seeds
its demo clinics: a visitor, through ``assistantMessage`` alone on uvicorn, asks the hours and
the price of a cleaning and books tomorrow afternoon as a new patient; then, in a new
conversation, verifies with the code from the development outbox (sent by the worker that
runs beside the server, read as the staff read it: ``notifications``) and cancels that
appointment. The receptionist then sees both conversations."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from typing import Any

import pytest
from django.db import connection

from backend.accounts.models import Role, User
from backend.core.tenancy import clinic_context
from backend.demo.clinical import clinic_clinical_demo_seed
from backend.demo.front_desk import clinic_demo_data_seed
from backend.patients.models import Patient
from backend.scheduling.models import Appointment
from tenants_core.schema_names import schema_name_for
from tests.assistant.conftest import SEND
from tests.conftest import ROOT, TEST_PASSWORD, child_env, http_login, running_uvicorn
from tests.dates import LIMA, clinic_today

pytestmark = pytest.mark.slow

SUBDOMAIN = "asistente-demo"
HOST = f"{SUBDOMAIN}.localhost"
CODES = """{ notifications(first: 5, filters: {kind: [VERIFICATION_CODE]}) {
  edges { node { kind status body } } } }"""
CONVERSATIONS = """{ assistantConversations(first: 10) { totalCount edges { node {
  channel status patient { firstName lastName } messages { author text intent } } } } }"""
# Tomorrow afternoon, unless the demo clinic is closed then (a Saturday afternoon, a Sunday, a
# holiday): then the next afternoon it opens, as a visitor would ask next.
AFTERNOONS = ("mañana en la tarde", "pasado mañana en la tarde", "el lunes en la tarde",
              "el martes en la tarde")  # fmt: skip


class WebVisitor:
    def __init__(self, server: Any) -> None:
        self.server, self.conversation_id = server, None

    def say(self, text: str) -> dict[str, Any]:
        variables = {"input": {"conversationId": self.conversation_id, "text": text}}
        response = self.server.post(HOST, {"query": SEND, "variables": variables})
        assert response.status_code == 200, response.text
        reply = response.json()["data"]["assistantMessage"]
        assert reply["__typename"] == "AssistantReply", reply
        self.conversation_id = reply["conversationId"]
        return reply


@pytest.fixture
def no_jobs_left(django_db_blocker: Any) -> Any:
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        connection.set_schema_to_public()
        cursor.execute(
            "DELETE FROM procrastinate_jobs WHERE status = 'todo' AND args->>'clinic_schema' = %s",
            [schema_name_for(SUBDOMAIN)],
        )


def test_a_visitor_books_as_a_new_patient_then_verifies_and_cancels(
    committed_clinic, django_db_blocker, no_jobs_left
):
    clinic = committed_clinic(SUBDOMAIN, plan="professional")
    with django_db_blocker.unblock():
        clinic_demo_data_seed(clinic, patients=40)
        clinic_clinical_demo_seed(clinic)
        with clinic_context(clinic):
            User.objects.create_user(
                email=f"recepcion@{HOST}", password=TEST_PASSWORD, role=Role.RECEPTIONIST
            )
        env = child_env(MESSAGING_BACKEND="outbox", JOB_POLL_SECONDS="0.2")

    with running_uvicorn(django_db_blocker) as server:
        # 1. Hours and the price of a cleaning.
        visitor = WebVisitor(server)
        hours = visitor.say("hola, ¿a qué hora atienden?")
        assert (hours["intent"], hours["handedOff"]) == ("HOURS", False)
        assert "09:00–13:00 y 15:00–20:00" in hours["text"]
        price = visitor.say("¿a cuánto está la limpieza?")
        assert price["intent"] == "PRICES"
        assert "Profilaxis cuesta S/ 90.00" in price["text"]

        # 2. Tomorrow afternoon, as a new patient (the cleaning's 45 minutes).
        offer = visitor.say("sí, quiero separar")
        for afternoon in AFTERNOONS:
            offer = visitor.say(afternoon)
            if offer["quickReplies"] and "Tengo libres" in offer["text"]:
                break
        assert "Tengo libres" in offer["text"], offer
        assert "DNI" in visitor.say(offer["quickReplies"][0])["text"]
        assert "nombres" in visitor.say("73004512")["text"]
        assert "celular" in visitor.say("Valeria Huamán Torres")["text"]
        assert visitor.say("987 123 456")["quickReplies"] == ["Sí", "No"]
        booked = visitor.say("sí")
        assert booked["text"].startswith("¡Listo! Tu cita quedó reservada"), booked

        with django_db_blocker.unblock(), clinic_context(clinic):
            patient = Patient.objects.get(document_number="73004512")
            appointment = Appointment.objects.get(patient=patient)
            assert (patient.first_name, patient.last_name) == ("Valeria", "Huamán Torres")
            local = appointment.starts_at.astimezone(LIMA)
            assert local.date() > clinic_today()
            assert 13 <= local.hour < 20
            assert appointment.ends_at - appointment.starts_at == dt.timedelta(minutes=45)
            assert appointment.status == "SCHEDULED"

        # 3. A new conversation: verify with the code from the outbox, then cancel.
        again = WebVisitor(server)
        asked = again.say("quiero cancelar mi cita")
        assert (asked["intent"], "DNI" in asked["text"]) == ("CANCEL", True)
        assert "código" in again.say("73004512")["text"]
        worker = subprocess.run(
            [sys.executable, "manage.py", "worker", "--burst", "--no-periodic"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert worker.returncode == 0, worker.stdout[-3000:] + worker.stderr[-3000:]
        admin = http_login(server, HOST, f"admin@{SUBDOMAIN}.pe")["token"]
        answer = server.post(HOST, {"query": CODES}, headers={"Authorization": f"Bearer {admin}"})
        codes = [
            edge["node"]
            for edge in answer.json()["data"]["notifications"]["edges"]
            if edge["node"]["kind"] == "VERIFICATION_CODE"
        ]
        assert [code["status"] for code in codes] == ["SENT"], codes
        code = re.search(r"\b(\d{6})\b", codes[0]["body"])[1]  # type: ignore[index]
        question = again.say(code)
        assert question["intent"] == "CANCEL"
        assert f"{local:%H:%M}" in question["text"], question
        assert question["quickReplies"] == ["Sí", "No"]
        cancelled = again.say("sí")
        assert "quedó cancelada" in cancelled["text"], cancelled
        with django_db_blocker.unblock(), clinic_context(clinic):
            assert Appointment.objects.get(pk=appointment.pk).status == "CANCELLED"

        # 4. The front desk sees both conversations.
        reception = http_login(server, HOST, f"recepcion@{HOST}")["token"]
        seen = server.post(
            HOST, {"query": CONVERSATIONS}, headers={"Authorization": f"Bearer {reception}"}
        ).json()["data"]["assistantConversations"]
        assert seen["totalCount"] == 2
        texts = [
            [message["text"] for message in edge["node"]["messages"]] for edge in seen["edges"]
        ]
        assert "quiero cancelar mi cita" in texts[0]  # newest first
        assert "¿a cuánto está la limpieza?" in texts[1]
        assert {edge["node"]["patient"]["lastName"] for edge in seen["edges"]} == {"Huamán Torres"}

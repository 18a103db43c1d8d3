from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from backend.clinic_admin.models import ClinicProfile, OpeningShift
from backend.resources.models import Chair, Professional
from backend.treatments.models import Procedure
from tests.factories import ChairFactory, ProfessionalFactory, weekly

HOST = "clinica1.localhost"
HOST2 = "clinica2.localhost"
PUBLIC = "localhost"

SEND = """mutation($input: AssistantMessageInput!) { assistantMessage(input: $input) {
  __typename
  ... on AssistantReply { conversationId text intent quickReplies handedOff }
  ... on OperationInfo { messages { code field message } } } }"""


@dataclass
class Desk:
    professional: Professional
    chair: Chair
    cleaning: Procedure


@pytest.fixture
def desk(clinic1: Any) -> Desk:
    """Clinic 1 open every day 8:00–20:00, one dentist working all of it, one chair, and a
    cleaning at S/ 80.00 in the catalog."""
    with tenant_context(clinic1):
        ClinicProfile.objects.filter(pk=1).update(
            address_line="Av. Larco 345", district="Miraflores", province="Lima",
            reference="Frente al parque Kennedy", phone="+5114441234",
        )  # fmt: skip
        OpeningShift.objects.all().delete()
        OpeningShift.objects.bulk_create(
            OpeningShift(weekday=day, opens_at=dt.time(8), closes_at=dt.time(20))
            for day in range(1, 8)
        )
        professional = ProfessionalFactory(
            full_name="Dra. Ana Torres", hours=weekly(range(7), (8, 20))
        )
        chair = ChairFactory()
        cleaning, _ = Procedure.objects.update_or_create(
            code="AST-LIMP",
            defaults={
                "name": "Limpieza dental (profilaxis)",
                "category": "PREVENTIVE",
                "default_price": Decimal("80.00"),
                "default_duration_minutes": 30,
            },
        )
        return Desk(professional, chair, cleaning)


class Visitor:
    """A visitor of the clinic's web widget: one conversation, message after message."""

    def __init__(self, client: Any, host: str = HOST, language: str | None = None) -> None:
        self.client, self.host, self.language = client, host, language
        self.conversation_id: str | None = None

    def say(self, text: str) -> dict[str, Any]:
        headers = {"HTTP_HOST": self.host}
        if self.language:
            headers["HTTP_ACCEPT_LANGUAGE"] = self.language
        response = self.client.post(
            "/graphql",
            data={
                "query": SEND,
                "variables": {"input": {"conversationId": self.conversation_id, "text": text}},
            },
            content_type="application/json",
            **headers,
        )
        assert response.status_code == 200, response.content
        body = response.json()
        assert "errors" not in body, body
        reply = body["data"]["assistantMessage"]
        if reply["__typename"] == "AssistantReply":
            self.conversation_id = reply["conversationId"]
        return reply

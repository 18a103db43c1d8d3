"""uvicorn serving the project with the recording stand-in for ``delivery`` (see
``webhook_asgi``), configured with the providers' test secrets, and the seeded clinics'
senders committed for it: the webhook tests' world."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.db import connection

from backend.core.server_command import UvicornLaunch
from backend.core.tenancy import schema_transaction
from backend.notifications.models import InboundEvent, InboxMessage
from devtools.processes import free_port, serving
from tenants_core.models import Clinic, MessagingSender
from tests.conftest import ROOT, LiveServer, child_env
from tests.fakes.fixtures import (
    CLINIC1_SMS,
    CLINIC1_WHATSAPP_ID,
    CLINIC2_SMS,
    CLINIC2_WHATSAPP_ID,
    PUBLIC_BASE_URL,
    SMS_ACCOUNT_SID,
    SMS_AUTH_TOKEN,
    WHATSAPP_APP_SECRET,
    WHATSAPP_VERIFY_TOKEN,
)

SUSPENDED_WHATSAPP_ID = "106540352242944"
# Every provider id a test makes contains this, so that the rows committed here are found and
# removed afterwards.
RUN = uuid.uuid4().hex[:10]


class RecordingLaunch(UvicornLaunch):
    def args(self) -> list[str]:
        args = super().args()
        args[0] = "tests.fakes.webhook_asgi:application"
        return args


def provider_id(prefix: str) -> str:
    return f"{prefix}{RUN}{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class WebhookWorld:
    server: LiveServer
    blocker: Any

    def inbox(self, subdomain: str) -> list[InboxMessage]:
        """The stand-in's rows (committed by uvicorn) in that clinic's schema."""
        with self.blocker.unblock():
            connection.set_schema_to_public()
            schema = Clinic.objects.get(subdomain=subdomain).schema_name
            with schema_transaction(schema):
                return list(
                    InboxMessage.objects.filter(provider_message_id__contains=RUN).order_by("id")
                )

    def events(self, subdomain: str) -> list[str]:
        with self.blocker.unblock():
            connection.set_schema_to_public()
            schema = Clinic.objects.get(subdomain=subdomain).schema_name
            with schema_transaction(schema):
                return list(
                    InboundEvent.objects.filter(event_key__contains=RUN)
                    .order_by("id")
                    .values_list("event_key", flat=True)
                )


SENDERS = [
    ("clinica1", "WHATSAPP", CLINIC1_WHATSAPP_ID),
    ("clinica1", "SMS", CLINIC1_SMS),
    ("clinica2", "WHATSAPP", CLINIC2_WHATSAPP_ID),
    ("clinica2", "SMS", CLINIC2_SMS),
    ("cerrada", "WHATSAPP", SUSPENDED_WHATSAPP_ID),
]


def _purge(clinics: Any) -> None:
    for clinic in clinics:
        with schema_transaction(clinic.schema_name):
            InboxMessage.objects.filter(provider_message_id__contains=RUN).delete()
            InboundEvent.objects.filter(event_key__contains=RUN).delete()
    connection.set_schema_to_public()


@pytest.fixture
def webhook_world(webhook_server: WebhookWorld) -> Iterator[WebhookWorld]:
    """The server; what a test made it commit is removed after the test."""
    yield webhook_server
    with webhook_server.blocker.unblock():
        connection.set_schema_to_public()
        _purge(Clinic.objects.filter(subdomain__in={s[0] for s in SENDERS}))


@pytest.fixture(scope="module")
def webhook_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[WebhookWorld]:
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        clinics = {c.subdomain: c for c in Clinic.objects.filter(subdomain__in={s[0] for s in SENDERS})}  # fmt: skip
        senders = [
            MessagingSender.objects.create(clinic=clinics[sub], channel=channel, external_id=ext)
            for sub, channel, ext in SENDERS
        ]
        env = child_env(
            PUBLIC_BASE_URL=PUBLIC_BASE_URL,
            WHATSAPP_APP_SECRET=WHATSAPP_APP_SECRET,
            WHATSAPP_VERIFY_TOKEN=WHATSAPP_VERIFY_TOKEN,
            SMS_ACCOUNT_SID=SMS_ACCOUNT_SID,
            SMS_AUTH_TOKEN=SMS_AUTH_TOKEN,
        )
    launch = RecordingLaunch(trusted_proxies=[], port=free_port(), log_level="warning")
    process = subprocess.Popen(launch.command(), cwd=ROOT, env=env)
    server = LiveServer(launch.port)

    def ready() -> bool:
        return server.request("GET", "/healthz", settings.BASE_DOMAIN).status_code == 200

    try:
        with serving(process, ready, timeout=30, what="uvicorn", not_yet=(httpx.TransportError,)):
            yield WebhookWorld(server, django_db_blocker)
    finally:
        with django_db_blocker.unblock():
            _purge(clinics.values())
            MessagingSender.objects.filter(pk__in=[s.pk for s in senders]).delete()

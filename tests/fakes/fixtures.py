"""pytest fixtures that start the provider fakes and point the settings at them. Import the
ones a test module needs (``from tests.fakes.fixtures import fake_whatsapp``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.sms import FakeSms
from tests.fakes.smtp import SmtpServer
from tests.fakes.whatsapp import FakeWhatsApp

WHATSAPP_TOKEN = "EAAG-test-access-token"
WHATSAPP_APP_SECRET = "test-app-secret"
WHATSAPP_VERIFY_TOKEN = "test-verify-token"
SMS_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
SMS_AUTH_TOKEN = "test-sms-auth-token"
# The senders of the seeded clinics in these tests.
CLINIC1_WHATSAPP_ID, CLINIC2_WHATSAPP_ID = "106540352242922", "106540352242933"
CLINIC1_SMS, CLINIC2_SMS = "+15005550006", "+15005550007"
PUBLIC_BASE_URL = "https://api.dental.example"


@pytest.fixture
def fake_whatsapp(settings: Any) -> Iterator[FakeWhatsApp]:
    fake = FakeWhatsApp(
        access_token=WHATSAPP_TOKEN,
        phone_number_ids={CLINIC1_WHATSAPP_ID, CLINIC2_WHATSAPP_ID},
        templates={"recordatorio_cita": 4, "confirmacion_cita": 5},
    ).start()
    settings.MESSAGING_BACKEND = "live"
    settings.WHATSAPP_API_BASE_URL = fake.base_url
    settings.WHATSAPP_ACCESS_TOKEN = WHATSAPP_TOKEN
    settings.MESSAGING_TIMEOUT_SECONDS = 2.0
    yield fake
    fake.stop()


@pytest.fixture
def fake_sms(settings: Any) -> Iterator[FakeSms]:
    fake = FakeSms(
        account_sid=SMS_ACCOUNT_SID, auth_token=SMS_AUTH_TOKEN, numbers={CLINIC1_SMS, CLINIC2_SMS}
    ).start()
    settings.MESSAGING_BACKEND = "live"
    settings.SMS_API_BASE_URL = fake.url
    settings.SMS_ACCOUNT_SID = SMS_ACCOUNT_SID
    settings.SMS_AUTH_TOKEN = SMS_AUTH_TOKEN
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    settings.MESSAGING_TIMEOUT_SECONDS = 2.0
    yield fake
    fake.stop()


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) and Django's SMTP backend pointed at it (pytest-django
    would otherwise keep mail in memory)."""
    server = SmtpServer().start()
    settings.MESSAGING_BACKEND = "live"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()

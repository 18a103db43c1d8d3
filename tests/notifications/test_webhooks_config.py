"""A webhook whose secret is not configured refuses everything: an empty secret must never
turn into "any signature made with the empty key is valid"."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from django.conf import settings

from backend.notifications.webhooks import twilio_signature, whatsapp_signature_valid
from tests.fakes import signing

PAYLOAD = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()


def _code(response: Any) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


@pytest.mark.django_db
def test_whatsapp_post_is_refused_when_no_app_secret_is_set(client: Any, settings: Any) -> None:
    settings.WHATSAPP_APP_SECRET = ""
    signed = "sha256=" + hmac.new(b"", PAYLOAD, hashlib.sha256).hexdigest()

    response = client.post(
        "/webhooks/whatsapp", PAYLOAD, content_type="application/json",
        HTTP_HOST=settings.BASE_DOMAIN, HTTP_X_HUB_SIGNATURE_256=signed,
    )  # fmt: skip

    assert response.status_code == 403
    assert _code(response) == "INVALID_SIGNATURE"


@pytest.mark.django_db
def test_handshake_is_refused_when_no_verify_token_is_set(client: Any, settings: Any) -> None:
    settings.WHATSAPP_VERIFY_TOKEN = ""

    response = client.get(
        "/webhooks/whatsapp",
        {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "42"},
        HTTP_HOST=settings.BASE_DOMAIN,
    )

    assert response.status_code == 403
    assert b"42" not in response.content


@pytest.mark.django_db
def test_sms_is_refused_when_no_auth_token_is_set(client: Any, settings: Any) -> None:
    settings.SMS_AUTH_TOKEN = ""
    params = {"From": "+51987654321", "To": "+15005550006", "Body": "1", "MessageSid": "SM1"}
    signed = signing.twilio_signature(f"{settings.PUBLIC_BASE_URL}/webhooks/sms", params, "")

    response = client.post(
        "/webhooks/sms", params, HTTP_HOST=settings.BASE_DOMAIN, HTTP_X_TWILIO_SIGNATURE=signed
    )

    assert response.status_code == 403
    assert _code(response) == "INVALID_SIGNATURE"


@pytest.mark.django_db
def test_webhooks_on_an_unknown_host_are_refused_by_routing(client: Any) -> None:
    response = client.post("/webhooks/sms", {}, HTTP_HOST=f"nadie.{settings.BASE_DOMAIN}")

    assert response.status_code == 404
    assert _code(response) == "UNKNOWN_HOST"


def test_product_signatures_match_the_documented_algorithms(settings: Any) -> None:
    """Twilio's own documented example (its security page): URL, parameters, token."""
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    expected = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="  # the signature Twilio's docs print

    assert twilio_signature(url, {k: [v] for k, v in params.items()}, "12345") == expected
    assert signing.twilio_signature(url, params, "12345") == expected
    settings.WHATSAPP_APP_SECRET = "s"
    assert whatsapp_signature_valid(b"{}", signing.meta_signature(b"{}", "s"))
    assert not whatsapp_signature_valid(b"{}", signing.meta_signature(b"{ }", "s"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "header"),
    [
        ("/webhooks/whatsapp", "HTTP_X_HUB_SIGNATURE_256"),
        ("/webhooks/sms", "HTTP_X_TWILIO_SIGNATURE"),
    ],
)
def test_a_non_ascii_signature_is_refused_not_a_crash(
    client: Any, settings: Any, path: str, header: str
) -> None:
    settings.WHATSAPP_APP_SECRET = settings.SMS_AUTH_TOKEN = "configured"

    response = client.post(
        path, "{}", content_type="application/json", HTTP_HOST=settings.BASE_DOMAIN,
        **{header: "sha256=ñandú"},
    )  # fmt: skip

    assert response.status_code == 403
    assert _code(response) == "INVALID_SIGNATURE"

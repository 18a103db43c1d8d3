"""Signed but malformed provider payloads: whatever a correctly signed body holds, the
webhook answers 200 (nothing of ours in it) or 400 ``BAD_REQUEST``, never a 5xx (which the
provider would retry for days)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.fakes import recording_delivery
from tests.fakes.signing import meta_signature, twilio_signature

pytestmark = pytest.mark.django_db

SECRET = "fuzz-secret"
leaf = (
    st.none() | st.booleans() | st.integers() | st.text(max_size=12)
    | st.floats(allow_nan=False, allow_infinity=False)
)  # fmt: skip
json_value = st.recursive(
    leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
MESSAGE_KEYS = ["from", "id", "timestamp", "type", "text", "button", "interactive", "context"]
STATUS_KEYS = ["id", "status", "timestamp", "errors", "recipient_id"]
near_whatsapp = st.fixed_dictionaries(
    {
        "object": st.just("whatsapp_business_account"),
        "entry": st.lists(
            st.fixed_dictionaries({"changes": st.lists(st.fixed_dictionaries({
                "field": st.just("messages"),
                "value": st.fixed_dictionaries({
                    "metadata": st.fixed_dictionaries({"phone_number_id": json_value}),
                    "messages": st.lists(st.dictionaries(st.sampled_from(MESSAGE_KEYS), json_value), max_size=2),
                    "statuses": st.lists(st.dictionaries(st.sampled_from(STATUS_KEYS), json_value), max_size=2),
                }),
            }), max_size=2)}),
            max_size=2,
        ),
    }
)  # fmt: skip
UNREADABLE_BODIES = [
    b"[" * 50_000 + b"]" * 50_000,  # nested beyond the JSON parser's recursion limit
    json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {
        "metadata": {"phone_number_id": "1\x002"}, "messages": []}}]}]}).encode(),
    json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {
        "metadata": {"phone_number_id": "1"}, "messages": [{"from": "5", "id": "w", "type": "text",
        "text": {"body": "x"}, "timestamp": 10**30}]}}]}]}).encode(),
]  # fmt: skip


@pytest.fixture
def signed_client(client: Any, settings: Any, monkeypatch: Any) -> Any:
    settings.WHATSAPP_APP_SECRET = settings.SMS_AUTH_TOKEN = SECRET
    monkeypatch.setattr(
        "backend.notifications.delivery.inbound_message_receive",
        recording_delivery.inbound_message_receive,
    )
    monkeypatch.setattr(
        "backend.notifications.delivery.notification_status_record",
        recording_delivery.notification_status_record,
    )
    return client


def _post_whatsapp(client: Any, body: bytes) -> Any:
    return client.post(
        "/webhooks/whatsapp", body, content_type="application/json",
        HTTP_HOST=settings.BASE_DOMAIN, HTTP_X_HUB_SIGNATURE_256=meta_signature(body, SECRET),
    )  # fmt: skip


@pytest.mark.parametrize("body", UNREADABLE_BODIES, ids=["deep", "nul-id", "huge-timestamp"])
def test_unreadable_signed_whatsapp_payloads_are_400(signed_client: Any, body: bytes) -> None:
    response = _post_whatsapp(signed_client, body)

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=json_value | near_whatsapp)
@example(payload={"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {"metadata": {"phone_number_id": "1"}, "messages": [{"from": "5", "id": "w", "type": "text", "text": {"body": "x\x00"}, "context": "not a dict"}]}}]}]})  # fmt: skip
def test_any_signed_whatsapp_payload_is_200_or_400(signed_client: Any, payload: Any) -> None:
    response = _post_whatsapp(signed_client, json.dumps(payload).encode())

    assert response.status_code in {200, 400}, response.content


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.dictionaries(
        st.sampled_from(["From", "To", "Body", "MessageSid", "MessageStatus", "ErrorCode"]),
        st.text(max_size=20),
    ),
    path=st.sampled_from(["/webhooks/sms", "/webhooks/sms/status"]),
)
def test_any_signed_sms_form_is_200_or_400(signed_client: Any, params: dict, path: str) -> None:
    signature = twilio_signature(f"{settings.PUBLIC_BASE_URL}{path}", params, SECRET)

    response = signed_client.post(
        path, urlencode(params), content_type="application/x-www-form-urlencoded",
        HTTP_HOST=settings.BASE_DOMAIN, HTTP_X_TWILIO_SIGNATURE=signature,
    )  # fmt: skip

    assert response.status_code in {200, 400}, response.content

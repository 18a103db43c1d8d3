"""The providers' webhooks over real HTTP (uvicorn): signatures, the verify handshake,
replays, routing by the receiving number to the right clinic, and bad input.

``delivery``'s entry points are replaced in the server by a recording stand-in that writes an
``InboxMessage`` in the schema it runs in (``tests/fakes/recording_delivery.py``)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from django.conf import settings
from django.db import connection

from backend.notifications import channels, webhooks
from backend.notifications.channels import OutgoingMessage
from backend.notifications.models import InboxMessage
from tests.conftest import host_for
from tests.fakes.fixtures import (
    CLINIC1_SMS,
    CLINIC1_WHATSAPP_ID,
    CLINIC2_SMS,
    CLINIC2_WHATSAPP_ID,
    PUBLIC_BASE_URL,
    SMS_AUTH_TOKEN,
    WHATSAPP_APP_SECRET,
    WHATSAPP_VERIFY_TOKEN,
    fake_sms,
    fake_whatsapp,
)
from tests.fakes.recording_delivery import STATUS_SENDER
from tests.fakes.signing import meta_signature, twilio_signature
from tests.fakes.webhook_server import (
    SUSPENDED_WHATSAPP_ID,
    WebhookWorld,
    provider_id,
    webhook_server,
    webhook_world,
)

__all__ = ["fake_sms", "fake_whatsapp", "webhook_server", "webhook_world"]

PLATFORM = settings.BASE_DOMAIN
NO_METADATA = json.dumps(
    {
        "object": "whatsapp_business_account",
        "entry": [{"changes": [{"field": "messages", "value": {}}]}],
    }
).encode()
PATIENT = "51987654321"  # WhatsApp ids are E.164 without the "+"


def whatsapp_payload(
    phone_number_id: str,
    *,
    messages: list[dict[str, Any]] = (),  # type: ignore[assignment]
    statuses: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> bytes:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": phone_number_id},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": "José"}, "wa_id": PATIENT}]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }
    return json.dumps(payload).encode()


def text_message(text: str, *, age: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "from": PATIENT,
        "id": provider_id("wamid."),
        "timestamp": str(int(time.time()) - age),
        "type": "text",
        "text": {"body": text},
        **extra,
    }


def post_whatsapp(
    world: WebhookWorld, body: bytes, *, host: str = PLATFORM, secret: str | None = None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if secret != "":
        headers["X-Hub-Signature-256"] = meta_signature(body, secret or WHATSAPP_APP_SECRET)
    return world.server.request("POST", "/webhooks/whatsapp", host, content=body, headers=headers)


def post_sms(
    world: WebhookWorld, path: str, params: dict[str, str], *, signature: str | None = None
) -> httpx.Response:
    signed = twilio_signature(f"{PUBLIC_BASE_URL}{path}", params, SMS_AUTH_TOKEN)
    return world.server.request(
        "POST",
        path,
        PLATFORM,
        content=urlencode(params),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signed if signature is None else signature,
        },
    )


def code(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


# --- WhatsApp: the handshake ------------------------------------------------------------


def test_whatsapp_handshake_echoes_the_challenge_for_the_right_token(
    webhook_world: WebhookWorld,
) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": WHATSAPP_VERIFY_TOKEN, "hub.challenge": "1158201444"}  # fmt: skip
    response = webhook_world.server.request("GET", "/webhooks/whatsapp", PLATFORM, params=query)

    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"},
        {
            "hub.mode": "unsubscribe",
            "hub.verify_token": WHATSAPP_VERIFY_TOKEN,
            "hub.challenge": "1",
        },
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {},
    ],
)
def test_whatsapp_handshake_refuses_anything_else(
    webhook_world: WebhookWorld, query: dict[str, str]
) -> None:
    response = webhook_world.server.request("GET", "/webhooks/whatsapp", PLATFORM, params=query)

    assert response.status_code == 403
    assert code(response) == "INVALID_SIGNATURE"
    assert "1" not in response.text.replace("403", "")


# --- WhatsApp: signatures ----------------------------------------------------------------


def test_whatsapp_post_without_a_valid_signature_changes_nothing(
    webhook_world: WebhookWorld,
) -> None:
    body = whatsapp_payload(CLINIC1_WHATSAPP_ID, messages=[text_message("1")])
    tampered = body.replace(b'"1"', b'"2"')
    headers = {"Content-Type": "application/json"}
    server = webhook_world.server

    refusals = [
        post_whatsapp(webhook_world, body, secret=""),  # no header
        post_whatsapp(webhook_world, body, secret="someone-elses-secret"),
        server.request("POST", "/webhooks/whatsapp", PLATFORM, content=tampered,
                       headers={**headers, "X-Hub-Signature-256": meta_signature(body, WHATSAPP_APP_SECRET)}),
        server.request("POST", "/webhooks/whatsapp", PLATFORM, content=body,
                       headers={**headers, "X-Hub-Signature-256": meta_signature(body, WHATSAPP_APP_SECRET).removeprefix("sha256=")}),
    ]  # fmt: skip

    assert [r.status_code for r in refusals] == [403, 403, 403, 403]
    assert {code(r) for r in refusals} == {"INVALID_SIGNATURE"}
    assert webhook_world.inbox("clinica1") == []
    assert webhook_world.events("clinica1") == []


# --- WhatsApp: routing, effects, replays -------------------------------------------------


def test_whatsapp_reply_reaches_only_the_clinic_that_owns_the_number(
    webhook_world: WebhookWorld,
) -> None:
    answered = provider_id("wamid.ours")
    to_clinic1 = text_message("1", context={"from": "15550001111", "id": answered})
    to_clinic2 = text_message("no puedo ir")

    # The Host header does not choose the clinic: the receiving number does.
    first = post_whatsapp(webhook_world, whatsapp_payload(CLINIC1_WHATSAPP_ID, messages=[to_clinic1]), host=host_for("clinica2"))  # fmt: skip
    second = post_whatsapp(webhook_world, whatsapp_payload(CLINIC2_WHATSAPP_ID, messages=[to_clinic2]))  # fmt: skip

    assert (first.status_code, first.json()) == (200, {"handled": 1, "duplicates": 0, "ignored": 0, "failed": 0})  # fmt: skip
    assert second.status_code == 200
    (one,) = webhook_world.inbox("clinica1")
    assert (one.channel, one.sender, one.provider_message_id) == ("WHATSAPP", f"+{PATIENT}", to_clinic1["id"])  # fmt: skip
    assert one.body == f"1|reply-to={answered}|payload="
    (two,) = webhook_world.inbox("clinica2")
    assert two.provider_message_id == to_clinic2["id"]
    assert two.body.startswith("no puedo ir|")
    assert webhook_world.events("clinica1") == [f"message:{to_clinic1['id']}"]
    assert webhook_world.events("clinica2") == [f"message:{to_clinic2['id']}"]


def test_whatsapp_button_replies_pass_their_payload(webhook_world: WebhookWorld) -> None:
    button = {
        "from": PATIENT, "id": provider_id("wamid."), "timestamp": str(int(time.time())),
        "type": "button", "button": {"text": "Confirmo", "payload": "CONFIRM"},
    }  # fmt: skip
    interactive = {
        "from": PATIENT, "id": provider_id("wamid."), "timestamp": str(int(time.time())),
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": "CANCEL", "title": "Cancelar"}},
    }  # fmt: skip

    response = post_whatsapp(webhook_world, whatsapp_payload(CLINIC1_WHATSAPP_ID, messages=[button, interactive]))  # fmt: skip

    assert response.json()["handled"] == 2
    bodies = {m.provider_message_id: m.body for m in webhook_world.inbox("clinica1")}
    assert bodies[button["id"]] == "Confirmo|reply-to=|payload=CONFIRM"
    assert bodies[interactive["id"]] == "Cancelar|reply-to=|payload=CANCEL"


def test_whatsapp_statuses_are_recorded_with_their_errors(webhook_world: WebhookWorld) -> None:
    wamid = provider_id("wamid.sent")
    now = int(time.time())
    statuses = [
        {"id": wamid, "status": "delivered", "timestamp": str(now), "recipient_id": PATIENT},
        {"id": wamid, "status": "failed", "timestamp": str(now), "recipient_id": PATIENT,
         "errors": [{"code": 131026, "title": "Message undeliverable",
                     "error_data": {"details": "Receiver is incapable of receiving this message"}}]},
        {"id": wamid, "status": "deleted", "timestamp": str(now), "recipient_id": PATIENT},
    ]  # fmt: skip

    response = post_whatsapp(webhook_world, whatsapp_payload(CLINIC2_WHATSAPP_ID, statuses=statuses))  # fmt: skip

    assert response.json()["handled"] == 2
    recorded = webhook_world.inbox("clinica2")
    assert [m.sender for m in recorded] == [STATUS_SENDER, STATUS_SENDER]
    assert [m.body.split("|")[:3] for m in recorded] == [
        ["DELIVERED", "", ""],
        ["FAILED", "131026", "Receiver is incapable of receiving this message"],
    ]
    assert webhook_world.inbox("clinica1") == []


def test_whatsapp_replayed_event_is_handled_once(webhook_world: WebhookWorld) -> None:
    body = whatsapp_payload(CLINIC1_WHATSAPP_ID, messages=[text_message("sí")])

    first = post_whatsapp(webhook_world, body)
    again = post_whatsapp(webhook_world, body)

    assert (first.json()["handled"], again.json()["handled"]) == (1, 0)
    assert again.status_code == 200
    assert again.json()["duplicates"] == 1
    assert len(webhook_world.inbox("clinica1")) == 1


def test_whatsapp_event_a_day_old_still_counts(webhook_world: WebhookWorld) -> None:
    """Meta retries for days after an outage: a day-old reply is applied when it arrives."""
    late = text_message("1", age=25 * 3600)

    response = post_whatsapp(webhook_world, whatsapp_payload(CLINIC1_WHATSAPP_ID, messages=[late]))  # fmt: skip

    assert response.status_code == 200
    assert response.json()["handled"] == 1
    assert len(webhook_world.inbox("clinica1")) == 1


def test_whatsapp_event_older_than_a_week_is_refused(webhook_world: WebhookWorld) -> None:
    stale = text_message("1", age=8 * 24 * 3600)

    response = post_whatsapp(webhook_world, whatsapp_payload(CLINIC1_WHATSAPP_ID, messages=[stale]))  # fmt: skip

    assert response.status_code == 200
    assert response.json()["ignored"] == 1
    assert webhook_world.inbox("clinica1") == []
    assert webhook_world.events("clinica1") == []


def test_unknown_number_and_suspended_clinic_answer_200_and_do_nothing(
    webhook_world: WebhookWorld,
) -> None:
    unknown = post_whatsapp(webhook_world, whatsapp_payload("999999999999", messages=[text_message("1")]))  # fmt: skip
    suspended = post_whatsapp(webhook_world, whatsapp_payload(SUSPENDED_WHATSAPP_ID, messages=[text_message("1")]))  # fmt: skip

    assert (unknown.status_code, unknown.json()["ignored"]) == (200, 1)
    assert (suspended.status_code, suspended.json()["ignored"]) == (200, 1)
    for clinic in ("clinica1", "clinica2", "cerrada"):
        assert webhook_world.inbox(clinic) == []
        assert webhook_world.events(clinic) == []


def test_failed_effect_answers_503_and_the_retry_is_not_a_duplicate(
    webhook_world: WebhookWorld,
) -> None:
    good, bad = text_message("1"), text_message("explode")
    body = whatsapp_payload(CLINIC1_WHATSAPP_ID, messages=[good, bad])

    response = post_whatsapp(webhook_world, body)

    assert response.status_code == 503
    assert code(response) == "RETRY_LATER"
    # The good event is kept; the failed one rolled back with its InboundEvent, so the
    # provider's retry of the whole batch handles it again (and skips the good one).
    assert webhook_world.events("clinica1") == [f"message:{good['id']}"]
    retry = post_whatsapp(webhook_world, body)
    assert retry.status_code == 503
    assert len(webhook_world.inbox("clinica1")) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"object": "page", "entry": []}',
        b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {}}]}]}',
    ],
)
def test_signed_but_unreadable_whatsapp_payload_is_400(
    webhook_world: WebhookWorld, body: bytes
) -> None:
    response = post_whatsapp(webhook_world, body)

    assert response.status_code == 400
    assert code(response) == "BAD_REQUEST"


def test_a_large_batch_of_statuses_fits_the_request_size_limit(
    webhook_world: WebhookWorld,
) -> None:
    now = str(int(time.time()))
    statuses = [
        {"id": provider_id("wamid.batch"), "status": "read", "timestamp": now, "recipient_id": PATIENT,
         "conversation": {"id": "c" * 32, "origin": {"type": "utility"}},
         "pricing": {"billable": True, "pricing_model": "CBP", "category": "utility"}}
        for _ in range(300)
    ]  # fmt: skip
    body = whatsapp_payload(CLINIC1_WHATSAPP_ID, statuses=statuses)
    assert len(body) > 64 * 1024

    response = post_whatsapp(webhook_world, body)

    assert response.status_code == 200, response.text
    assert response.json()["handled"] == 300


# --- SMS ----------------------------------------------------------------------------------


def test_sms_inbound_reaches_the_clinic_of_the_number_with_empty_twiml(
    webhook_world: WebhookWorld,
) -> None:
    sid = provider_id("SM")
    params = {"From": "+51987654321", "To": CLINIC2_SMS, "Body": "BAJA", "MessageSid": sid,
              "AccountSid": "AC123", "NumMedia": "0"}  # fmt: skip

    response = post_sms(webhook_world, "/webhooks/sms", params)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    (message,) = webhook_world.inbox("clinica2")
    assert (message.channel, message.sender, message.provider_message_id) == ("SMS", "+51987654321", sid)  # fmt: skip
    assert message.body.startswith("BAJA|")
    assert webhook_world.inbox("clinica1") == []


def test_sms_replay_is_handled_once(webhook_world: WebhookWorld) -> None:
    params = {"From": "+51987654321", "To": CLINIC1_SMS, "Body": "1", "MessageSid": provider_id("SM")}  # fmt: skip

    first = post_sms(webhook_world, "/webhooks/sms", params)
    again = post_sms(webhook_world, "/webhooks/sms", params)

    assert (first.status_code, again.status_code) == (200, 200)
    assert len(webhook_world.inbox("clinica1")) == 1


def test_sms_status_callback_is_recorded_for_the_sending_clinic(
    webhook_world: WebhookWorld,
) -> None:
    sid = provider_id("SM")
    base = {"MessageSid": sid, "SmsSid": sid, "From": CLINIC1_SMS, "To": "+51987654321", "AccountSid": "AC1"}  # fmt: skip

    queued = post_sms(webhook_world, "/webhooks/sms/status", {**base, "MessageStatus": "queued"})
    failed = post_sms(webhook_world, "/webhooks/sms/status",
                      {**base, "MessageStatus": "undelivered", "ErrorCode": "30005"})  # fmt: skip

    assert (queued.status_code, queued.json()["ignored"]) == (200, 1)
    assert (failed.status_code, failed.json()["handled"]) == (200, 1)
    (recorded,) = webhook_world.inbox("clinica1")
    assert recorded.sender == STATUS_SENDER
    assert recorded.body.split("|")[:2] == ["FAILED", "30005"]


@pytest.mark.parametrize("path", ["/webhooks/sms", "/webhooks/sms/status"])
def test_sms_signature_must_cover_url_params_and_token(
    webhook_world: WebhookWorld, path: str
) -> None:
    params = {"From": CLINIC1_SMS, "To": CLINIC1_SMS, "Body": "1", "MessageSid": provider_id("SM"), "MessageStatus": "delivered"}  # fmt: skip
    wrong = [
        "",  # missing
        twilio_signature(f"{PUBLIC_BASE_URL}{path}", params, "another-token"),
        twilio_signature(
            f"http://127.0.0.1{path}", params, SMS_AUTH_TOKEN
        ),  # not the configured URL
        twilio_signature(f"{PUBLIC_BASE_URL}{path}", {**params, "Body": "2"}, SMS_AUTH_TOKEN),
    ]

    responses = [post_sms(webhook_world, path, params, signature=s) for s in wrong]

    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    assert {code(r) for r in responses} == {"INVALID_SIGNATURE"}
    assert webhook_world.inbox("clinica1") == []


@pytest.mark.parametrize(
    ("path", "missing"),
    [
        ("/webhooks/sms", "MessageSid"),
        ("/webhooks/sms", "To"),
        ("/webhooks/sms/status", "MessageStatus"),
    ],
)
def test_sms_missing_fields_are_400(webhook_world: WebhookWorld, path: str, missing: str) -> None:
    params = {"From": "+51987654321", "To": CLINIC1_SMS, "Body": "1", "MessageSid": provider_id("SM"), "MessageStatus": "sent"}  # fmt: skip
    del params[missing]

    response = post_sms(webhook_world, path, params)

    assert response.status_code == 400
    assert code(response) == "BAD_REQUEST"
    assert missing in response.json()["errors"][0]["message"]
    assert webhook_world.inbox("clinica1") == []


def test_webhooks_refuse_other_methods(webhook_world: WebhookWorld) -> None:
    server = webhook_world.server

    assert server.request("GET", "/webhooks/sms", PLATFORM).status_code == 405
    assert server.request("PUT", "/webhooks/whatsapp", PLATFORM).status_code == 405


# --- round trips: what our clients sent, reported back by the provider --------------------


def test_sms_delivery_report_of_a_message_we_sent_is_accepted(
    webhook_world: WebhookWorld, fake_sms: Any
) -> None:
    fake_sms.sid_prefix = provider_id("SM")[:12]
    sid = channels.send(
        OutgoingMessage(
            channel="SMS", recipient="+51987654321", body="Su cita…", sender=CLINIC1_SMS
        )
    )
    url, params, signature = fake_sms.status_callback(fake_sms.accepted()[0], "delivered")

    response = webhook_world.server.request(
        "POST", urlsplit(url).path, PLATFORM, content=urlencode(params),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
    )  # fmt: skip

    assert url == f"{PUBLIC_BASE_URL}/webhooks/sms/status"
    assert response.status_code == 200, response.text
    (recorded,) = webhook_world.inbox("clinica1")
    assert (recorded.provider_message_id, recorded.body.split("|")[0]) == (sid, "DELIVERED")


def test_whatsapp_read_report_of_a_message_we_sent_is_accepted(
    webhook_world: WebhookWorld, fake_whatsapp: Any
) -> None:
    fake_whatsapp.wamid_prefix = provider_id("wamid.")
    wamid = channels.send(
        OutgoingMessage(
            channel="WHATSAPP", recipient="+51987654321", body="", sender=CLINIC2_WHATSAPP_ID,
            whatsapp_template_name="recordatorio_cita", whatsapp_parameters=["a", "b", "c", "d"],
        )
    )  # fmt: skip
    body, signature = fake_whatsapp.status_webhook(
        fake_whatsapp.accepted()[0], "read", app_secret=WHATSAPP_APP_SECRET
    )

    response = webhook_world.server.request(
        "POST", "/webhooks/whatsapp", PLATFORM, content=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
    )  # fmt: skip

    assert (response.status_code, response.json()["handled"]) == (200, 1)
    (recorded,) = webhook_world.inbox("clinica2")
    assert (recorded.provider_message_id, recorded.body.split("|")[0]) == (wamid, "READ")


def test_two_deliveries_of_one_event_at_once_apply_it_once(webhook_world: WebhookWorld) -> None:
    """Providers retry while the first delivery is still running: the second one waits on the
    first's InboundEvent row (real parallel connections), then finds it and does nothing."""
    key = provider_id("SM")
    started = threading.Barrier(2)
    tallies: list[webhooks.Tally] = []

    def slow_effect() -> object:
        time.sleep(0.5)  # the other delivery arrives meanwhile
        return InboxMessage.objects.create(channel="SMS", sender="+51987654321", body="1|", provider_message_id=key)  # fmt: skip

    def deliver() -> None:
        event = webhooks.Event("sms", "SMS", CLINIC1_SMS, f"message:{key}", slow_effect)
        started.wait()
        try:
            tallies.append(webhooks._handle([event], webhooks.timezone.now()))
        finally:
            connection.close()

    with webhook_world.blocker.unblock():
        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)

    assert sorted((t.handled, t.duplicates) for t in tallies) == [(0, 1), (1, 0)]
    assert [m.provider_message_id for m in webhook_world.inbox("clinica1")] == [key]


def test_one_batch_for_two_numbers_is_split_by_clinic(webhook_world: WebhookWorld) -> None:
    """One Meta app serves every clinic's number: a batch may carry changes for several."""
    for_clinic1, for_clinic2 = text_message("1"), text_message("2")
    changes = [
        json.loads(whatsapp_payload(number, messages=[message]))["entry"][0]["changes"][0]
        for number, message in ((CLINIC1_WHATSAPP_ID, for_clinic1), (CLINIC2_WHATSAPP_ID, for_clinic2))
    ]  # fmt: skip
    body = json.dumps(
        {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": changes}]}
    ).encode()

    response = post_whatsapp(webhook_world, body)

    assert response.json()["handled"] == 2
    assert [m.provider_message_id for m in webhook_world.inbox("clinica1")] == [for_clinic1["id"]]
    assert [m.provider_message_id for m in webhook_world.inbox("clinica2")] == [for_clinic2["id"]]

"""The providers' calls into us: WhatsApp Cloud API and Twilio-compatible SMS webhooks.

Served on every host (the platform's domain is the one configured at the providers,
``PUBLIC_BASE_URL``), outside ``request_transaction``: the clinic comes from the payload (the
receiving number, ``tenants_core.MessagingSender``), never from the Host header.

Every call is verified before anything is read from it: ``X-Hub-Signature-256`` (HMAC-SHA256
of the raw body, ``WHATSAPP_APP_SECRET``) or ``X-Twilio-Signature`` (HMAC-SHA1 of
``PUBLIC_BASE_URL`` + path + the sorted form parameters, ``SMS_AUTH_TOKEN``), compared in
constant time; a missing secret refuses everything. Then each event runs in its clinic's
transaction (``clinic_context``): an ``InboundEvent`` row (provider, event key) is inserted
with the event's effect, so a replayed event finds its row and does nothing. WhatsApp events
older than ``MAX_EVENT_AGE`` are refused as well.

Answers (the providers retry anything but a 2xx, for days):
- 200 for every event handled, duplicated, stale, for an unknown number or a suspended clinic
  (logged): retrying those can never succeed, and a provider that keeps failing may disable
  the webhook for every clinic;
- 403 ``INVALID_SIGNATURE`` (nothing done), 400 ``BAD_REQUEST`` (signed, but unreadable);
- 503 ``RETRY_LATER`` when an event's work failed (its transaction rolled back, its
  ``InboundEvent`` with it): the provider sends the batch again and the events already
  handled are skipped as duplicates.

Delivery reports are passed on as ``NotificationStatus`` values (``SENT``, ``DELIVERED``,
``READ``, ``FAILED``); patient messages as E.164 senders."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from backend.core.error_codes import CommonError
from backend.core.responses import json_error
from backend.core.tenancy import clinic_context, public_context
from backend.notifications import delivery
from backend.notifications.models import Channel, InboundEvent, NotificationStatus
from tenants_core.models import ClinicStatus, MessagingSender

logger = logging.getLogger(__name__)

# Older WhatsApp events are refused. Meta retries an undelivered webhook for up to 7 days: a
# patient's "BAJA" sent during a long outage must still count when it finally arrives
# (replays are refused by the InboundEvent rows, whatever their age).
MAX_EVENT_AGE = dt.timedelta(days=7)
TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

WHATSAPP_STATUSES = {
    "sent": NotificationStatus.SENT,
    "delivered": NotificationStatus.DELIVERED,
    "read": NotificationStatus.READ,
    "failed": NotificationStatus.FAILED,
}
SMS_STATUSES = {
    "sent": NotificationStatus.SENT,
    "delivered": NotificationStatus.DELIVERED,
    "read": NotificationStatus.READ,
    "undelivered": NotificationStatus.FAILED,
    "failed": NotificationStatus.FAILED,
}


# What reading a signed but malformed payload may raise: wrong types and missing keys, a
# timestamp out of range (OverflowError, OSError), JSON nested too deep (RecursionError).
UNREADABLE = (
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    OverflowError,
    OSError,
    RecursionError,
)


class WebhookError(StrEnum):
    INVALID_SIGNATURE = "INVALID_SIGNATURE"
    """Unsigned, wrongly signed, or no secret set."""
    RETRY_LATER = "RETRY_LATER"
    """An event's work failed; the provider retries the call."""


@dataclass
class Event:
    """One thing a provider tells us, addressed to one of our numbers."""

    provider: str  # "whatsapp", "sms"
    channel: str  # the sender table's channel
    receiver: str  # our number: WhatsApp phone number id, or SMS number (E.164)
    key: str  # unique per event at that provider
    apply: Callable[[], object]
    at: dt.datetime | None = None  # when it happened, if the provider says


@dataclass
class Tally:
    handled: int = 0
    duplicates: int = 0
    ignored: int = 0
    failed: int = 0

    def as_json(self) -> dict[str, int]:
        return {
            "handled": self.handled,
            "duplicates": self.duplicates,
            "ignored": self.ignored,
            "failed": self.failed,
        }


# --- signatures -----------------------------------------------------------------------------


def whatsapp_signature_valid(body: bytes, header: str | None) -> bool:
    secret = settings.WHATSAPP_APP_SECRET
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    given = header.removeprefix("sha256=").strip().lower()
    # Bytes: compare_digest refuses str with non-ASCII characters (a 500 otherwise).
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def twilio_signature(url: str, params: Mapping[str, list[str]], token: str) -> str:
    """Twilio's ``X-Twilio-Signature``: base64(HMAC-SHA1(token, url + k1v1 + k2v2 …)), the
    parameters sorted by name (and each name's values sorted)."""
    payload = url + "".join(
        name + value for name in sorted(params) for value in sorted(params[name])
    )
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _twilio_signature_valid(request: HttpRequest) -> bool:
    token, header = settings.SMS_AUTH_TOKEN, request.headers.get("X-Twilio-Signature")
    if not token or not header:
        return False
    url = f"{settings.PUBLIC_BASE_URL}{request.get_full_path()}"
    params = {name: request.POST.getlist(name) for name in request.POST}
    expected = twilio_signature(url, params, token).encode()
    return hmac.compare_digest(expected, header.strip().encode("utf-8", "replace"))


def _refused() -> JsonResponse:
    return json_error(403, WebhookError.INVALID_SIGNATURE, _("The signature does not match."))


def _bad_request(message: str) -> JsonResponse:
    return json_error(400, CommonError.BAD_REQUEST, message)


# --- routing and replay guard ---------------------------------------------------------------


def _clinic_of(channel: str, receiver: str) -> Any:
    with public_context():
        row = (
            MessagingSender.objects.select_related("clinic")
            .filter(channel=channel, external_id=receiver)
            .first()
        )
    return row.clinic if row is not None else None


def _handle(events: list[Event], now: dt.datetime) -> Tally:
    tally = Tally()
    clinics: dict[tuple[str, str], Any] = {}
    for event in events:
        if event.at is not None and now - event.at > MAX_EVENT_AGE:
            logger.warning(
                "%s event %s refused: %s old.", event.provider, event.key, now - event.at
            )
            tally.ignored += 1
            continue
        route = (event.channel, event.receiver)
        if route not in clinics:
            clinics[route] = _clinic_of(*route)
        clinic = clinics[route]
        if clinic is None:
            logger.warning(
                "%s event %s for unknown number %s.", event.provider, event.key, event.receiver
            )
            tally.ignored += 1
            continue
        if clinic.status != ClinicStatus.ACTIVE:
            logger.warning(
                "%s event %s ignored: clinic %s is suspended.",
                event.provider,
                event.key,
                clinic.schema_name,
            )
            tally.ignored += 1
            continue
        try:
            with clinic_context(clinic):
                if not _first_time(event):
                    logger.info("%s event %s replayed: ignored.", event.provider, event.key)
                    tally.duplicates += 1
                    continue
                event.apply()
        except Exception:
            # Its transaction (and its InboundEvent) rolled back: the provider's retry redoes it.
            logger.exception(
                "%s event %s failed in %s.", event.provider, event.key, clinic.schema_name
            )
            tally.failed += 1
            continue
        tally.handled += 1
    return tally


def _first_time(event: Event) -> bool:
    """Record the event in the clinic's schema; False when it was recorded before (a replay,
    or a concurrent delivery that committed first)."""
    try:
        with transaction.atomic():
            InboundEvent.objects.create(provider=event.provider, event_key=event.key[:200])
    except IntegrityError:
        return False
    return True


def _answer(tally: Tally, ok: Callable[[], HttpResponse] | None = None) -> HttpResponse:
    if tally.failed:
        return json_error(
            503, WebhookError.RETRY_LATER, _("Some events could not be handled; send them again.")
        )
    return ok() if ok is not None else JsonResponse(tally.as_json())


# --- WhatsApp -------------------------------------------------------------------------------


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _whatsapp_handshake(request)
    body = request.body
    if not whatsapp_signature_valid(body, request.headers.get("X-Hub-Signature-256")):
        logger.warning("WhatsApp webhook refused: bad or missing signature.")
        return _refused()
    try:
        payload = json.loads(body)
        events = list(_whatsapp_events(payload))
    except UNREADABLE:
        return _bad_request(_("The payload is not a WhatsApp webhook."))
    return _answer(_handle(events, timezone.now()))


def _whatsapp_handshake(request: HttpRequest) -> HttpResponse:
    token = settings.WHATSAPP_VERIFY_TOKEN
    given = request.GET.get("hub.verify_token", "")
    challenge = request.GET.get("hub.challenge", "")
    if (
        token
        and request.GET.get("hub.mode") == "subscribe"
        and hmac.compare_digest(given.encode(), token.encode())
        and challenge
    ):
        return HttpResponse(challenge, content_type="text/plain")
    return json_error(403, WebhookError.INVALID_SIGNATURE, _("The verify token does not match."))


def _timestamp(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    return dt.datetime.fromtimestamp(int(value), tz=dt.UTC)


def _identifier(value: Any) -> str:
    """An id or number from a payload: a short text without NUL (PostgreSQL refuses those);
    anything else makes the payload unreadable (400)."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise TypeError("an id must be a string")
    text = str(value)
    if not text or len(text) > 128 or "\x00" in text:
        raise ValueError("not an id")
    return text


def _text(value: Any) -> str:
    """A patient's text: what PostgreSQL can store."""
    return str(value).replace("\x00", "")


def _e164(wa_id: str) -> str:
    return wa_id if wa_id.startswith("+") else f"+{wa_id}"


def _whatsapp_events(payload: dict[str, Any]) -> Iterator[Event]:
    if payload.get("object") != "whatsapp_business_account" or not isinstance(
        payload.get("entry"), list
    ):
        raise ValueError("not a WhatsApp Business Account webhook")
    for entry in payload["entry"]:
        for change in entry.get("changes") or []:
            if change.get("field") != "messages":
                continue
            value = change["value"]
            receiver = _identifier(value["metadata"]["phone_number_id"])
            for message in value.get("messages") or []:
                yield _whatsapp_message(receiver, message)
            for status in value.get("statuses") or []:
                event = _whatsapp_status(receiver, status)
                if event is not None:
                    yield event


def _whatsapp_message(receiver: str, message: dict[str, Any]) -> Event:
    kind = message.get("type")
    body, payload = "", ""
    if kind == "text":
        body = _text(message["text"]["body"])
    elif kind == "button":  # a template's quick-reply button
        body, payload = (
            _text(message["button"].get("text", "")),
            _text(message["button"]["payload"]),
        )
    elif kind == "interactive":
        reply = message["interactive"].get("button_reply") or message["interactive"].get(
            "list_reply"
        )
        body, payload = _text(reply.get("title", "")), _text(reply["id"])
    else:  # image, audio, location…: staff see that something came
        body = f"[{kind}]"
    # Everything read here, before any transaction: a malformed message is a 400, never a
    # failed effect that the provider would retry for days.
    wamid, sender = _identifier(message["id"]), _e164(_identifier(message["from"]))
    reply_to = _text((message.get("context") or {}).get("id", ""))
    at = _timestamp(message.get("timestamp"))

    def apply() -> object:
        return delivery.inbound_message_receive(
            channel=Channel.WHATSAPP,
            sender=sender,
            body=body,
            provider_message_id=wamid,
            in_reply_to_provider_id=reply_to,
            button_payload=payload,
        )

    return Event("whatsapp", "WHATSAPP", receiver, f"message:{wamid}", apply, at)


def _whatsapp_status(receiver: str, status: dict[str, Any]) -> Event | None:
    mapped = WHATSAPP_STATUSES.get(str(status["status"]))
    wamid = _identifier(status["id"])
    if mapped is None:  # "deleted", "warning"…: nothing of ours changes
        return None
    errors = status.get("errors") or []
    code = _text(errors[0].get("code", ""))[:32] if errors else ""
    reason = ""
    if errors:
        first = errors[0]
        details = (first.get("error_data") or {}).get("details")
        reason = _text(details or first.get("message") or first.get("title") or "")
    at = _timestamp(status.get("timestamp"))

    def apply() -> object:
        return delivery.notification_status_record(
            channel=Channel.WHATSAPP,
            provider_message_id=wamid,
            status=mapped,
            error_code=code,
            error_reason=reason[:500],
            at=at,
        )

    return Event("whatsapp", "WHATSAPP", receiver, f"status:{wamid}:{mapped}", apply, at)


# --- SMS ------------------------------------------------------------------------------------


def _form_field(request: HttpRequest, name: str) -> str:
    value = request.POST.get(name, "")
    if not value or len(value) > 128 or "\x00" in value:
        raise KeyError(name)
    return value


@csrf_exempt
@require_POST
def sms_inbound(request: HttpRequest) -> HttpResponse:
    """A patient's SMS to a clinic's number: ``From``, ``To``, ``Body``, ``MessageSid``."""
    if not _twilio_signature_valid(request):
        logger.warning("SMS webhook refused: bad or missing signature.")
        return _refused()
    try:
        sender, receiver = _form_field(request, "From"), _form_field(request, "To")
        sid = _form_field(request, "MessageSid")
    except KeyError as missing:
        return _bad_request(_("Missing field: %(field)s.") % {"field": missing.args[0]})
    body = _text(request.POST.get("Body", ""))

    def apply() -> object:
        return delivery.inbound_message_receive(
            channel=Channel.SMS, sender=sender, body=body, provider_message_id=sid
        )

    tally = _handle([Event("sms", "SMS", receiver, f"message:{sid}", apply)], timezone.now())
    return _answer(tally, lambda: HttpResponse(TWIML_EMPTY, content_type="text/xml"))


@csrf_exempt
@require_POST
def sms_status(request: HttpRequest) -> HttpResponse:
    """A delivery report: ``MessageSid``, ``MessageStatus``, ``ErrorCode``; ``From`` is the
    clinic's number (Twilio's status callbacks carry the message's parameters)."""
    if not _twilio_signature_valid(request):
        logger.warning("SMS status callback refused: bad or missing signature.")
        return _refused()
    try:
        sid, raw_status = _form_field(request, "MessageSid"), _form_field(request, "MessageStatus")
        receiver = _form_field(request, "From")
    except KeyError as missing:
        return _bad_request(_("Missing field: %(field)s.") % {"field": missing.args[0]})
    mapped = SMS_STATUSES.get(raw_status)
    if mapped is None:  # queued, sending, accepted…: nothing of ours changes
        return JsonResponse(Tally(ignored=1).as_json())
    code = _text(request.POST.get("ErrorCode", ""))[:32]
    reason = _text(request.POST.get("ErrorMessage", ""))

    def apply() -> object:
        return delivery.notification_status_record(
            channel=Channel.SMS,
            provider_message_id=sid,
            status=mapped,
            error_code=code,
            error_reason=reason[:500],
        )

    event = Event("sms", "SMS", receiver, f"status:{sid}:{mapped}", apply)
    return _answer(_handle([event], timezone.now()))


__all__ = ["sms_inbound", "sms_status", "twilio_signature", "whatsapp_webhook"]

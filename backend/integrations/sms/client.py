"""A Twilio-compatible ``Messages`` resource: one account (SID and auth token); each clinic
sends from its own number. Delivery reports come back to ``StatusCallback``.

https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from django.conf import settings

from backend.integrations.errors import (
    RETRYABLE_CLIENT_STATUSES,
    ProviderRejected,
    ProviderUnavailable,
)
from backend.integrations.http import post_or_unavailable

STATUS_CALLBACK_PATH = "/webhooks/sms/status"


@dataclass(frozen=True)
class SmsClient:
    base_url: str  # e.g. https://api.twilio.com
    account_sid: str
    auth_token: str
    timeout_seconds: float
    status_callback: str = ""

    @classmethod
    def from_settings(cls) -> SmsClient:
        return cls(
            base_url=settings.SMS_API_BASE_URL.rstrip("/"),
            account_sid=settings.SMS_ACCOUNT_SID,
            auth_token=settings.SMS_AUTH_TOKEN,
            timeout_seconds=settings.MESSAGING_TIMEOUT_SECONDS,
            status_callback=f"{settings.PUBLIC_BASE_URL}{STATUS_CALLBACK_PATH}",
        )

    def send(self, *, sender: str, to: str, body: str) -> str:
        """Send ``body`` from the clinic's number ``sender`` to ``to`` (both E.164); the
        message's SID."""
        if not (self.account_sid and self.auth_token):
            raise ProviderRejected("NOT_CONFIGURED", "SMS_ACCOUNT_SID/SMS_AUTH_TOKEN are not set.")
        url = f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        form = {"To": to, "From": sender, "Body": body}
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        response = post_or_unavailable(
            "SMS provider",
            url,
            seconds=self.timeout_seconds,
            data=form,
            auth=(self.account_sid, self.auth_token),
        )
        return _message_sid(response)


def _message_sid(response: httpx.Response) -> str:
    status = response.status_code
    if 200 <= status < 300:
        try:
            return str(response.json()["sid"])
        except (ValueError, KeyError, TypeError) as error:
            raise ProviderUnavailable(f"SMS provider answered {status} without a sid") from error
    code, reason = _error_of(response)
    if status >= 500 or status in RETRYABLE_CLIENT_STATUSES:
        raise ProviderUnavailable(f"SMS provider answered {status}: {code} {reason}")
    raise ProviderRejected(code, reason)


def _error_of(response: httpx.Response) -> tuple[str, str]:
    """Twilio's ``{"code": 21211, "message": "…", "more_info": "…", "status": 400}``."""
    try:
        error = response.json()
        code = str(error.get("code") or response.status_code)
        reason = str(error.get("message") or "")
    except (ValueError, TypeError, AttributeError):
        code, reason = str(response.status_code), response.text[:200]
    return code, reason[:500] or f"HTTP {response.status_code}"

"""The WhatsApp Cloud API's ``/{phone_number_id}/messages`` endpoint.

Business-initiated messages must be templates that Meta approved (``send_template``); a
free-form ``send_text`` is allowed only within 24 h of the patient's last message. Each clinic
sends from its own phone number id; the platform's one app token authorizes all of them.

https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from backend.integrations.errors import (
    RETRYABLE_CLIENT_STATUSES,
    ProviderRejected,
    ProviderUnavailable,
)
from backend.integrations.http import post_or_unavailable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WhatsAppClient:
    base_url: str  # e.g. https://graph.facebook.com/v21.0
    access_token: str
    timeout_seconds: float

    @classmethod
    def from_settings(cls) -> WhatsAppClient:
        return cls(
            base_url=settings.WHATSAPP_API_BASE_URL.rstrip("/"),
            access_token=settings.WHATSAPP_ACCESS_TOKEN,
            timeout_seconds=settings.MESSAGING_TIMEOUT_SECONDS,
        )

    def send_template(
        self,
        *,
        phone_number_id: str,
        to: str,
        template_name: str,
        parameters: list[str],
        language: str = "es",
        button_code: str = "",
    ) -> str:
        """Send an approved template, its body's ``{{1}}``, ``{{2}}``… filled with
        ``parameters`` in order; the message's ``wamid``. ``button_code``: an authentication
        template's one-time code, which its copy-code button (a URL button, index 0) takes
        as its parameter too."""
        template: dict[str, Any] = {"name": template_name, "language": {"code": language}}
        components: list[dict[str, Any]] = []
        if parameters:
            components.append(
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": value} for value in parameters],
                }
            )
        if button_code:
            components.append(
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text", "text": button_code}],
                }
            )
        if components:
            template["components"] = components
        return self._post(
            phone_number_id,
            {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": to,
                "type": "template",
                "template": template,
            },
        )

    def send_text(self, *, phone_number_id: str, to: str, body: str) -> str:
        """A free-form text (inside the 24 h customer-service window); its ``wamid``."""
        return self._post(
            phone_number_id,
            {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": to,
                "type": "text",
                "text": {"preview_url": False, "body": body},
            },
        )

    def _post(self, phone_number_id: str, payload: dict[str, Any]) -> str:
        if not self.access_token:
            raise ProviderRejected("NOT_CONFIGURED", "WHATSAPP_ACCESS_TOKEN is not set.")
        url = f"{self.base_url}/{phone_number_id}/messages"
        response = post_or_unavailable(
            "WhatsApp",
            url,
            seconds=self.timeout_seconds,
            json=payload,
            headers={"Authorization": f"Bearer {self.access_token}"},
        )
        return _message_id(response)


def _message_id(response: httpx.Response) -> str:
    status = response.status_code
    if 200 <= status < 300:
        try:
            return str(response.json()["messages"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise ProviderUnavailable(f"WhatsApp answered {status} without an id") from error
    code, reason = _error_of(response)
    if status >= 500 or status in RETRYABLE_CLIENT_STATUSES:
        raise ProviderUnavailable(f"WhatsApp answered {status}: {code} {reason}")
    raise ProviderRejected(code, reason)


def _error_of(response: httpx.Response) -> tuple[str, str]:
    """Meta's ``{"error": {"code": 131030, "message": "…", "error_data": {"details": …}}}``."""
    try:
        error = response.json()["error"]
        code = str(error.get("code") or response.status_code)
        reason = str(error.get("message") or "")
        details = (error.get("error_data") or {}).get("details")
        if details:
            reason = f"{reason} ({details})" if reason else str(details)
    except (ValueError, KeyError, TypeError, AttributeError):
        code, reason = str(response.status_code), response.text[:200]
    return code, reason[:500] or f"HTTP {response.status_code}"

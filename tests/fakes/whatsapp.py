"""A fake of the WhatsApp Cloud API's ``POST /v{version}/{phone_number_id}/messages``.

It checks what Meta documents: the bearer token, a JSON body, ``messaging_product``, a phone
number in ``to``, and the template's shape (name, language code, body parameters of type text,
as many as the approved template has); it answers with a ``wamid`` or Meta's error object
(``{"error": {"message", "type", "code", "error_data", "fbtrace_id"}}``)."""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any

from tests.fakes.base import FakeServer, Received
from tests.fakes.signing import meta_signature

PATH = re.compile(r"^/v\d+\.\d+/(?P<phone_number_id>[0-9]+)/messages$")
PHONE = re.compile(r"^\+?[1-9][0-9]{6,14}$")
API_VERSION = "v21.0"


def meta_error(code: int, message: str, *, details: str = "", kind: str = "OAuthException") -> Any:
    error: dict[str, Any] = {
        "message": message,
        "type": kind,
        "code": code,
        "fbtrace_id": secrets.token_urlsafe(12),
    }
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": error}


class FakeWhatsApp(FakeServer):
    def __init__(
        self,
        *,
        access_token: str,
        phone_number_ids: set[str],
        templates: dict[str, int] | None = None,
    ) -> None:
        super().__init__()
        self.access_token = access_token
        self.phone_number_ids = set(phone_number_ids)
        # approved template name -> how many body parameters; None: any name is approved
        self.templates = templates
        self.rejected_numbers: set[str] = set()  # answered like a number WhatsApp refuses
        self.wamid_prefix = "wamid."  # tests mark their ids

    def status_webhook(
        self, sent: Received, status: str, *, app_secret: str, errors: list[Any] | None = None
    ) -> tuple[bytes, str]:
        """The webhook Meta would send about the message of ``sent``: (the raw body, its
        ``X-Hub-Signature-256``)."""
        phone_number_id = PATH.match(sent.path)["phone_number_id"]  # type: ignore[index]
        entry: dict[str, Any] = {
            "id": sent.answer["messages"][0]["id"],
            "status": status,
            "timestamp": str(int(time.time())),
            "recipient_id": sent.json["to"].lstrip("+"),
        }
        if errors:
            entry["errors"] = errors
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": phone_number_id},
            "statuses": [entry],
        }
        body = json.dumps(
            {
                "object": "whatsapp_business_account",
                "entry": [{"id": "0", "changes": [{"value": value, "field": "messages"}]}],
            }
        ).encode()
        return body, meta_signature(body, app_secret)

    @property
    def base_url(self) -> str:
        return f"{self.url}/{API_VERSION}"

    def handle(self, received: Received) -> tuple[int, Any]:
        match = PATH.match(received.path)
        if received.method != "POST" or match is None:
            return 400, meta_error(
                100, "Unsupported request - method type: get", kind="GraphMethodException"
            )
        if received.headers.get("authorization") != f"Bearer {self.access_token}":
            return 401, meta_error(190, "Invalid OAuth access token - Cannot parse access token")
        if match["phone_number_id"] not in self.phone_number_ids:
            return 400, meta_error(
                100,
                f"Unsupported post request. Object with ID '{match['phone_number_id']}' does "
                "not exist, cannot be loaded due to missing permissions, or does not support "
                "this operation.",
                kind="GraphMethodException",
            )
        if not received.headers.get("content-type", "").startswith("application/json"):
            return 400, meta_error(100, "(#100) Invalid parameter", details="Expected JSON")
        try:
            body = json.loads(received.body)
        except ValueError:
            return 400, meta_error(100, "(#100) Invalid parameter", details="Malformed JSON")
        received.json = body
        problem = self._problem(body)
        if problem is not None:
            return problem
        to = str(body["to"])
        if to in self.rejected_numbers:
            return 400, meta_error(
                131030,
                "(#131030) Recipient phone number not in allowed list",
                details="Recipient phone number not in allowed list: Add recipient phone "
                "number to recipient list and try again.",
            )
        wamid = self.wamid_prefix + secrets.token_urlsafe(24)
        return 200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to.lstrip("+")}],
            "messages": [{"id": wamid}],
        }

    def _problem(self, body: Any) -> tuple[int, Any] | None:
        def invalid(details: str) -> tuple[int, Any]:
            return 400, meta_error(100, "(#100) Invalid parameter", details=details)

        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            return invalid("messaging_product must be 'whatsapp'")
        if not isinstance(body.get("to"), str) or not PHONE.match(body["to"]):
            return invalid("'to' is not a valid phone number")
        kind = body.get("type")
        if kind == "text":
            text = body.get("text")
            if not isinstance(text, dict) or not isinstance(text.get("body"), str):
                return invalid("text.body is required")
            if not text["body"].strip() or len(text["body"]) > 4096:
                return invalid("text.body must have 1 to 4096 characters")
            return None
        if kind != "template":
            return invalid(f"Unsupported message type {kind!r}")
        template = body.get("template")
        if not isinstance(template, dict) or not isinstance(template.get("name"), str):
            return invalid("template.name is required")
        language = template.get("language")
        if not isinstance(language, dict) or not isinstance(language.get("code"), str):
            return invalid("template.language.code is required")
        parameters: list[Any] = []
        for component in template.get("components", []):
            if not isinstance(component, dict) or component.get("type") not in {
                "header",
                "body",
                "button",
            }:
                return invalid("component.type must be header, body or button")
            if component["type"] == "body":
                parameters = component.get("parameters")
                if not isinstance(parameters, list):
                    return invalid("body.parameters must be a list")
                for parameter in parameters:
                    if (
                        not isinstance(parameter, dict)
                        or parameter.get("type") != "text"
                        or not isinstance(parameter.get("text"), str)
                        or not parameter["text"].strip()
                    ):
                        return invalid("each body parameter needs type 'text' and a text")
        if self.templates is not None:
            if template["name"] not in self.templates:
                return 404, meta_error(
                    132001,
                    "(#132001) Template name does not exist in the translation",
                    details=f"template name ({template['name']}) does not exist in "
                    f"{language['code']}",
                )
            if len(parameters) != self.templates[template["name"]]:
                return 400, meta_error(
                    132000,
                    "(#132000) Number of parameters does not match the expected number of params",
                )
        return None

"""A fake of a Twilio-compatible ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``.

It checks what Twilio documents: HTTP Basic auth with the account SID and auth token, a form
body, ``To`` and ``From`` in E.164 (``From`` one of the account's numbers), a ``Body``, a
valid ``StatusCallback`` URL; it answers 201 with the message resource (``sid`` ``SM…``) or
Twilio's error object (``{"code", "message", "more_info", "status"}``)."""

from __future__ import annotations

import base64
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.base import FakeServer, Received
from tests.fakes.signing import twilio_signature

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def twilio_error(status: int, code: int, message: str) -> tuple[int, Any]:
    return status, {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class FakeSms(FakeServer):
    def __init__(self, *, account_sid: str, auth_token: str, numbers: set[str]) -> None:
        super().__init__()
        self.account_sid, self.auth_token = account_sid, auth_token
        self.numbers = set(numbers)
        self.sid_prefix = "SM"  # tests mark their ids: "SM" + 32 hex characters in all

    def new_sid(self) -> str:
        return (self.sid_prefix + secrets.token_hex(16))[:34]

    def status_callback(
        self, sent: Received, status: str, *, error_code: str = ""
    ) -> tuple[str, dict[str, str], str]:
        """The delivery report Twilio would send for the message of ``sent``: (the
        ``StatusCallback`` URL it registered, the form parameters, their
        ``X-Twilio-Signature``)."""
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "From": sent.form["From"],
            "To": sent.form["To"],
            "MessageSid": sent.answer["sid"],
            "SmsSid": sent.answer["sid"],
            "MessageStatus": status,
            "SmsStatus": status,
        }
        if error_code:
            params["ErrorCode"] = error_code
        url = sent.form["StatusCallback"]
        return url, params, twilio_signature(url, params, self.auth_token)

    def handle(self, received: Received) -> tuple[int, Any]:
        expected = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        if received.method != "POST" or received.path != expected:
            return twilio_error(404, 20404, f"The requested resource {received.path} was not found")
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if received.headers.get("authorization") != f"Basic {credentials}":
            return twilio_error(401, 20003, "Authenticate")
        if not received.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return twilio_error(400, 20001, "Expected a form-encoded body")
        parsed = parse_qs(received.body.decode(), keep_blank_values=True, strict_parsing=False)
        form = {key: values[-1] for key, values in parsed.items()}
        received.form = form
        to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not to:
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if not E164.match(to):
            return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not E164.match(sender) or sender not in self.numbers:
            return twilio_error(
                400,
                21606,
                f"The 'From' phone number provided ({sender}) is not a valid message-capable "
                "Twilio phone number for this destination/account.",
            )
        if not body:
            return twilio_error(400, 21602, "Message body is required.")
        if len(body) > 1600:
            return twilio_error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")  # fmt: skip
        callback = form.get("StatusCallback")
        if callback is not None:
            parts = urlsplit(callback)
            if parts.scheme not in {"http", "https"} or not parts.netloc:
                return twilio_error(400, 21609, "Invalid StatusCallback url.")
        sid = self.new_sid()
        return 201, {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": to,
            "from": sender,
            "body": body,
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }

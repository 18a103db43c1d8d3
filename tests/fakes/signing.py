"""How the providers sign their calls, written from their documentation (the tests' oracle;
the product's own check is in ``backend/notifications/webhooks.py``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping


def meta_signature(body: bytes, app_secret: str) -> str:
    """``X-Hub-Signature-256``: "sha256=" + hex HMAC-SHA256 of the raw body, keyed with the
    app secret."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def twilio_signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """``X-Twilio-Signature``: the full URL Twilio was configured with, then each POST
    parameter's name and value, sorted by name; HMAC-SHA1 keyed with the auth token, base64."""
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()  # fmt: skip

"""Who may read ``/metrics``: a bearer token (``METRICS_TOKEN``), an allow-list of client
networks (``METRICS_ALLOWED_IPS``), or both (then both must pass). With neither, the endpoint
is off and answers 404 like any unknown path.

The client's address is ``REMOTE_ADDR``: uvicorn's proxy-header handling has already replaced
it with the ``X-Forwarded-For`` address when (and only when) the peer is one of
``TRUSTED_PROXIES`` (``backend/core/server_command.py``), as for the audit trail."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Sequence
from enum import Enum
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Access(Enum):
    OFF = "off"
    ALLOWED = "allowed"
    NO_TOKEN = "no_token"
    ADDRESS_REFUSED = "address_refused"


def networks_parse(value: str, *, setting: str = "METRICS_ALLOWED_IPS") -> tuple[Network, ...]:
    """``METRICS_ALLOWED_IPS`` (or another ``setting`` of the same form, such as
    ``TLS_ASK_ALLOWED_IPS``): comma-separated addresses or CIDR networks."""
    parsed: list[Network] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            parsed.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{setting}: {item!r} is not an IP address or network."
            ) from None
    return tuple(parsed)


def _bearer(request: HttpRequest) -> str:
    scheme, _, raw = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return raw.strip() if scheme.lower() == "bearer" else ""


def address_allowed(request: HttpRequest, allowed: Sequence[Network]) -> bool:
    """Whether the client's address (``REMOTE_ADDR``, see above) is in one of ``allowed``."""
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR") or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in allowed)


def check(request: HttpRequest) -> Access:
    token: str = settings.METRICS_TOKEN
    allowed: Sequence[Network] = settings.METRICS_ALLOWED_IPS
    if not token and not allowed:
        return Access.OFF
    if allowed and not address_allowed(request, allowed):
        return Access.ADDRESS_REFUSED
    if token and not hmac.compare_digest(_bearer(request).encode(), token.encode()):
        return Access.NO_TOKEN
    return Access.ALLOWED

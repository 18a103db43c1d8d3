"""Where a request comes from, for the audit trail.

A context variable (one value per request, never shared between requests or clinics) set by
``AuditContextMiddleware``. Services read it through ``audit_record`` so that their
signatures stay about the domain, not about HTTP.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class RequestOrigin:
    ip: str | None = None
    user_agent: str = ""


_NO_ORIGIN = RequestOrigin()
_origin: ContextVar[RequestOrigin] = ContextVar("audit_request_origin", default=_NO_ORIGIN)


def current_origin() -> RequestOrigin:
    return _origin.get()


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address: the peer's, or, when the peer is one of ``TRUSTED_PROXIES``,
    the one that proxy put in ``X-Forwarded-For`` (uvicorn rewrites the peer address; see
    ``backend/core/server_command.py``). None when that is not an IP address at all (a
    proxy that passes on whatever the client wrote), rather than a value the database's
    ``inet`` columns would refuse."""
    value = request.META.get("REMOTE_ADDR") or ""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        return None  # fe80::1%eth0: PostgreSQL's inet has no zone
    return str(address)


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        origin = RequestOrigin(
            ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:300]
        )
        token = _origin.set(origin)
        try:
            return self.get_response(request)
        finally:
            _origin.reset(token)

"""Where a request comes from, for the audit trail.

A context variable (one value per request, never shared between requests or clinics) set by
``AuditContextMiddleware``. Services read it through ``audit_record`` so that their
signatures stay about the domain, not about HTTP.
"""

from __future__ import annotations

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
    """The peer address. Behind a proxy, run uvicorn with --proxy-headers so that this is the
    client's, not the proxy's."""
    return request.META.get("REMOTE_ADDR") or None


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

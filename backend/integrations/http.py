"""The one HTTP client the provider clients share: a connection pool per process (keep-alive
to the provider), no base URL and no credentials of its own, so it holds nothing of any clinic.

Every call passes its own timeout (``MESSAGING_TIMEOUT_SECONDS``)."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from backend.integrations.errors import ProviderUnavailable

_lock = threading.Lock()
_client: httpx.Client | None = None


def http_client() -> httpx.Client:
    global _client
    with _lock:
        if _client is None or _client.is_closed:
            _client = httpx.Client(
                follow_redirects=False,
                limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
                headers={"User-Agent": "dental-saas-messaging/1"},
            )
        return _client


def timeout(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds)


def post_or_unavailable(
    provider: str, url: str, *, seconds: float, **kwargs: Any
) -> httpx.Response:
    """POST with the shared client; a timeout or a transport error is ``ProviderUnavailable``
    (retried). A timeout may have reached the provider: that is the at-least-once window."""
    try:
        return http_client().post(url, timeout=timeout(seconds), **kwargs)
    except httpx.TimeoutException as error:
        raise ProviderUnavailable(f"{provider} timed out: {error!r}") from error
    except httpx.HTTPError as error:
        raise ProviderUnavailable(f"{provider} unreachable: {error!r}") from error

"""How every provider client fails, whatever the vendor.

- ``ProviderRejected``: the provider refused this message for good (a bad number, a blocked
  recipient, an unapproved template): retrying would fail the same way.
- ``ProviderUnavailable``: the provider could not be reached, was too slow, failed (5xx), or
  asked us to slow down (429): the same request may succeed later.

``backend.notifications.channels`` re-exports both: they are its send contract."""

from __future__ import annotations


class ProviderRejected(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code, self.reason = code, reason


class ProviderUnavailable(Exception):
    pass


# 4xx answers that are not about the message: a throttle (429), a request timeout (408), and
# credentials refused (401: an expired or rotated token) are retried with backoff, so that a
# token rotation does not fail every message sent meanwhile for good.
RETRYABLE_CLIENT_STATUSES = frozenset({401, 408, 429})

"""The project's ASGI application with ``delivery``'s webhook entry points replaced by the
recording stand-in (``recording_delivery``): what the webhook tests' uvicorn serves."""

from __future__ import annotations

from backend.asgi import application
from tests.fakes import recording_delivery

recording_delivery.install()

__all__ = ["application"]

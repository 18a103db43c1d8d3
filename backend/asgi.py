"""ASGI entry point, served by uvicorn. The GraphQL view is sync: Django runs it in a thread
that keeps the tenant schema set by the middleware (see CONVENTIONS, tenancy rules)."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from django.core.asgi import get_asgi_application
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")


def _load() -> ASGIHandler:
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.db import connections

    handler = get_asgi_application()
    if settings.DATABASES["default"].get("CONN_MAX_AGE"):
        # Django runs each ASGI request in a thread of its own: a persistent connection is
        # never reused, and under load they pile up until PostgreSQL refuses new clients.
        raise ImproperlyConfigured(
            "CONN_MAX_AGE must be 0 under uvicorn (ASGI); pool connections with PgBouncer "
            "in session mode instead."
        )
    # django-tenants reads the schemas once at start-up (PG_EXTRA_SEARCH_PATHS check); that
    # connection belongs to this loading thread only.
    connections.close_all()
    return handler


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


# uvicorn's worker processes import the application inside their event loop, where Django
# refuses database access; set Django up in a plain thread then.
if _in_event_loop():
    with ThreadPoolExecutor(max_workers=1) as loader:
        application = loader.submit(_load).result()
else:
    application = _load()

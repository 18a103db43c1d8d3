"""ASGI entry point, served by uvicorn as ``backend/core/server_command.py`` launches it
(``manage.py serve``, ``manage.py dev``, the tests' and the benchmark's uvicorn). The GraphQL
view is sync: Django runs it in a thread that keeps the tenant schema set by the middleware
(see CONVENTIONS, tenancy rules). Django is wrapped in ``RequestConcurrencyLimit``, which
lets at most ``WEB_CONCURRENCY_LIMIT`` requests in at once (each holds a database connection),
and in ``RequestBodyLimit``, which stops reading a body once it passes ``MAX_REQUEST_BYTES``."""

from __future__ import annotations

import asyncio
import os
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from django.core.asgi import get_asgi_application

if TYPE_CHECKING:
    from backend.core.middleware import ASGIApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

# uvicorn.config.STARTUP_FAILURE: a worker that exits with it makes the supervisor stop.
UVICORN_STARTUP_FAILURE = 3


def _launched_with_trusted_proxies_only() -> None:
    """Outside DEBUG, refuse a uvicorn that ``server_command.py`` did not start: uvicorn's own
    default believes ``X-Forwarded-For`` from 127.0.0.1, whatever ``TRUSTED_PROXIES`` says. A
    launch through ``UvicornLaunch`` leaves the proxies it told uvicorn to trust in the
    environment; they must all be listed in ``TRUSTED_PROXIES``."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.utils.translation import gettext as _

    from backend.core.server_command import LAUNCH_MARKER, trusted_proxies_parse

    if settings.DEBUG:
        return
    launched = os.environ.get(LAUNCH_MARKER)
    if launched is None:
        raise ImproperlyConfigured(
            _(
                "Start the server with “python manage.py serve”, not uvicorn by itself: a bare "
                "uvicorn believes X-Forwarded-For from 127.0.0.1 whatever TRUSTED_PROXIES says."
            )
        )
    try:
        trusted = trusted_proxies_parse(launched)
    except ValueError as error:
        raise ImproperlyConfigured(f"{LAUNCH_MARKER}: {error}") from None
    unlisted = sorted(set(trusted) - set(settings.TRUSTED_PROXIES))
    if unlisted:
        raise ImproperlyConfigured(
            _("uvicorn was told to trust proxies that TRUSTED_PROXIES does not list: %(proxies)s.")
            % {"proxies": ", ".join(unlisted)}
        )


def _load() -> ASGIApp:
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.db import connections
    from django.utils.translation import gettext as _

    from backend.core.middleware import RequestBodyLimit, RequestConcurrencyLimit

    handler = get_asgi_application()
    _launched_with_trusted_proxies_only()
    if settings.DATABASES["default"].get("CONN_MAX_AGE"):
        # Django runs each ASGI request in a thread of its own: a persistent connection is
        # never reused, and under load they pile up until PostgreSQL refuses new clients
        # (behind PgBouncer in session mode, each one also pins a server connection).
        raise ImproperlyConfigured(
            _(
                "CONN_MAX_AGE must be 0 under uvicorn (ASGI); pool connections with PgBouncer "
                "in transaction mode instead."
            )
        )
    # A first connection now: it checks the pool (backend/core/db_backend/pooling.py), and
    # django-tenants reads the schemas once at start-up (PG_EXTRA_SEARCH_PATHS check). That
    # connection belongs to this loading thread only.
    connections["default"].ensure_connection()
    connections.close_all()
    return RequestConcurrencyLimit(RequestBodyLimit(handler), limit=settings.WEB_CONCURRENCY_LIMIT)


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _load_in_worker() -> ASGIApp:
    """uvicorn's worker processes import the application inside their event loop, where
    Django refuses database access: set Django up in a plain thread. A configuration error
    (an unsafe pool, say) would fail the same way on every restart, so the worker exits with
    uvicorn's start-up failure code and the parent stops instead of restarting it forever."""
    from django.core.exceptions import ImproperlyConfigured

    try:
        with ThreadPoolExecutor(max_workers=1) as loader:
            return loader.submit(_load).result()
    except ImproperlyConfigured:
        traceback.print_exc()
        sys.stderr.flush()
        raise SystemExit(UVICORN_STARTUP_FAILURE) from None


application = _load_in_worker() if _in_event_loop() else _load()

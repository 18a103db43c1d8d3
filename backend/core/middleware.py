"""Request ids, the request-size limit and the concurrency limit: cheap checks that run before
anything else."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.log import log_response
from django.utils.translation import gettext as _

from backend.core import log_context
from backend.core.error_codes import CommonError
from backend.core.responses import json_error

logger = logging.getLogger(__name__)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

# ASGI, typed as Django's ASGIHandler takes it.
Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Set in the ASGI scope by ``RequestBodyLimit`` when the body passed MAX_REQUEST_BYTES; Django's
# request keeps the scope (``ASGIRequest.scope``), where ``RequestSizeLimitMiddleware`` reads it.
BODY_TOO_LARGE = "dental.body_too_large"
# Set by ``RequestConcurrencyLimit`` on a request over WEB_CONCURRENCY_LIMIT; read by
# ``ServerBusyMiddleware``.
SERVER_BUSY = "dental.server_busy"
# Seconds a client waits before it sends a refused request again.
SERVER_BUSY_RETRY_AFTER = 1


class RequestIdMiddleware:
    """Every request gets an id (a sane incoming ``X-Request-ID`` is kept), returned in the
    ``X-Request-ID`` header and written with every log line about the request (with its clinic:
    ``log_context``), so that a client can quote it and an operator can find the full error.
    Outermost, so that every answer has one, CORS preflights included."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex  # type: ignore[attr-defined]
        # Unbound on request_finished (backend.core.apps), after Django's own 4xx/5xx line.
        log_context.request_bind(request)
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response


def body_limit(content_type: str) -> int:
    """The most bytes a body may have: ``MAX_REQUEST_BYTES``, or for a multipart body (file
    uploads) ``MAX_UPLOAD_BYTES`` of files plus ``MAX_REQUEST_BYTES`` of fields."""
    if content_type.strip().lower().startswith("multipart/form-data"):
        return int(settings.MAX_UPLOAD_BYTES) + settings.MAX_REQUEST_BYTES
    return int(settings.MAX_REQUEST_BYTES)


def _too_large(request: HttpRequest) -> bool:
    scope = getattr(request, "scope", None)  # ASGI only; the test client and WSGI have none
    if scope is not None and scope.get(BODY_TOO_LARGE):
        return True
    length = request.META.get("CONTENT_LENGTH") or "0"
    return length.isdigit() and int(length) > body_limit(request.META.get("CONTENT_TYPE", ""))


class RequestSizeLimitMiddleware:
    """Bodies larger than ``body_limit`` get 413 ``REQUEST_TOO_LARGE`` before anything
    reads them: a declared ``Content-Length`` over the limit, or (under uvicorn) a body that
    ``RequestBodyLimit`` stopped reading. Runs inside the CORS and request-id middleware, so
    that a browser can read the refusal and quote its id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _too_large(request):
            translation.activate(translation.get_language_from_request(request))
            return json_error(
                413,
                CommonError.REQUEST_TOO_LARGE,
                _("The request is larger than %(max)d bytes.")
                % {"max": body_limit(request.META.get("CONTENT_TYPE", ""))},
            )
        return self.get_response(request)


class ServerBusyMiddleware:
    """A request that ``RequestConcurrencyLimit`` found over the limit gets 503 ``SERVER_BUSY``
    with ``Retry-After``. Inside the request-id, observability and CORS middleware (which touch
    no database), so the refusal carries an id, is counted, and a browser can read its code;
    before everything that opens a connection, so a refused request never holds one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        scope = getattr(request, "scope", None)  # ASGI only
        if scope is not None and scope.get(SERVER_BUSY):
            translation.activate(translation.get_language_from_request(request))
            response = json_error(
                503, CommonError.SERVER_BUSY, _("The server is busy. Try again in a moment.")
            )
            response["Retry-After"] = str(SERVER_BUSY_RETRY_AFTER)
            # Shedding load is the limit working, not a bug: a warning (Django would log this
            # 503 as an error, once per refused request).
            log_response(
                "Server busy (WEB_CONCURRENCY_LIMIT): %s",
                request.path,
                response=response,
                request=request,
                level="warning",
            )
            return response
        return self.get_response(request)


class RequestConcurrencyLimit:
    """ASGI middleware, outermost: at most ``limit`` requests of this worker process run in
    Django at once; the others are marked ``SERVER_BUSY`` and only pass through Django's
    middleware as far as ``ServerBusyMiddleware``, which refuses them.

    Each sync request runs in a thread of its own holding its own database connection until
    the request is finished (``backend/core/server_command.py`` says why), so this bounds the
    worker's connections. A request counts from its start to the end of Django's handling,
    which is after ``request_finished`` closed its connection. The count lives in the worker's
    event loop (one thread), so it needs no lock."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            scope[SERVER_BUSY] = True
            await self.app(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return bytes(value)
    return None


def _declared_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    return int(value) if value is not None and value.isdigit() else None


class RequestBodyLimit:
    """ASGI middleware around Django: the body limit for bodies that ``Content-Length`` does
    not announce (``Transfer-Encoding: chunked``) or announces too large.

    Django's ``ASGIHandler`` reads the whole body (into a temporary file, with no limit) before
    any Django middleware runs, so ``RequestSizeLimitMiddleware`` alone would see a chunked
    body only once all of it was on disk. This counts the bytes of each ``http.request``
    message; as soon as they pass ``body_limit`` (or at once, when ``Content-Length``
    says so) it stops reading, hands Django an empty body and marks the scope, and Django's
    middleware answers the same 413 as for any other refusal (JSON, a code, CORS headers, an
    ``X-Request-ID``). The answer says ``Connection: close``, so uvicorn drops the connection
    instead of reading (and discarding) the rest of the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit((_header(scope, b"content-type") or b"").decode("latin-1"))
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            scope[BODY_TOO_LARGE] = True
            await self.app(scope, _no_body(), _closing(send))
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            if scope.get(BODY_TOO_LARGE):
                # Django listens for a disconnect while it answers: never read the rest.
                await asyncio.Future()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    scope[BODY_TOO_LARGE] = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def sent(message: Message) -> None:
            await (_closing(send) if scope.get(BODY_TOO_LARGE) else send)(message)

        await self.app(scope, counted, sent)


def _no_body() -> Receive:
    """A body that ends at once; after it, nothing (the rest stays unread)."""
    given = False

    async def receive() -> Message:
        nonlocal given
        if given:
            await asyncio.Future()
        given = True
        return {"type": "http.request", "body": b"", "more_body": False}

    return receive


def _closing(send: Send) -> Send:
    """The answer ends the connection: the body that was not read is never read."""

    async def closing(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(n, v) for n, v in message.get("headers", ()) if n.lower() != b"connection"]
            message = {**message, "headers": [*headers, (b"connection", b"close")]}
        await send(message)

    return closing

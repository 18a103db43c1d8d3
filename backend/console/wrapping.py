"""What makes the console's views different from the API's: the public host only, one
transaction, and a session (with its user and messages) that no other path has.

Django's session, authentication and message middleware run here, around each console view,
instead of in ``MIDDLEWARE``: every other path keeps ``request.user`` from its bearer token
(``backend.accounts.middleware``) and never reads or writes a session."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver
from django.utils import timezone

from backend.core import log_context
from backend.core.tenancy import request_transaction
from backend.core.views import not_found, permission_denied


def on_public_host(request: HttpRequest) -> bool:
    tenant = getattr(request, "tenant", None)
    return tenant is not None and tenant.schema_name == settings.PUBLIC_SCHEMA_NAME


def public_host_only(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A clinic's host answers the project's JSON 404, exactly as for an unknown path."""

    @functools.wraps(view)
    def public_only(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not on_public_host(request):
            return not_found(request)
        return view(request, *args, **kwargs)

    return public_only


def _log_user(request: HttpRequest) -> None:
    """The signed-in operator's id on the request's log lines (``backend.core.log_context``),
    ``-`` for an anonymous visitor."""
    user = request.user
    user_id = user.pk if user.is_authenticated else None
    setattr(request, log_context.SESSION_USER_ATTRIBUTE, user_id)


def console_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """``view`` on the public host only, inside the request's transaction, with a session.

    The response is rendered inside the transaction too: a template's lazy queries, the
    session's save and the messages' storage all run in it (a TemplateResponse would
    otherwise render after the view has returned, outside any transaction)."""

    def respond(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        def innermost(request: HttpRequest) -> HttpResponseBase:
            _log_user(request)  # the admin reads the session's user at once anyway
            try:
                response = view(request, *args, **kwargs)
            except PermissionDenied:
                # The admin refuses before it reads a form, let alone writes: answered here
                # (the project's JSON 403), so that the transaction ends as it began.
                return permission_denied(request)
            except Http404:
                return not_found(request)
            _log_user(request)  # signed in (or out) by the view
            render = getattr(response, "render", None)
            return render() if callable(render) else response

        chain = SessionMiddleware(AuthenticationMiddleware(MessageMiddleware(innermost)))
        # Times are shown in the platform's zone (the clinics' default), not UTC: stored UTC,
        # shown local, like everything the clinics see. Forms read them in it too.
        with timezone.override(ZoneInfo(settings.DEFAULT_CLINIC_TIMEZONE)):
            return cast(HttpResponseBase, chain(request))  # sync: MiddlewareMixin's __call__

    return public_host_only(functools.wraps(view)(request_transaction(respond)))


def console_patterns(patterns: Sequence[URLPattern | URLResolver]) -> list[Any]:
    """Every view of ``patterns`` (recursively: each model's own URLs) through
    ``console_view``, names and converters unchanged."""
    wrapped: list[Any] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            wrapped.append(
                URLResolver(
                    pattern.pattern,
                    console_patterns(pattern.url_patterns),
                    pattern.default_kwargs,
                    pattern.app_name,
                    pattern.namespace,
                )
            )
        else:
            wrapped.append(
                URLPattern(
                    pattern.pattern,
                    console_view(pattern.callback),
                    pattern.default_args,
                    pattern.name,
                )
            )
    return wrapped

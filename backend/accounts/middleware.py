"""Bearer-token authentication, after the tenant middleware has set the schema."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from backend.accounts.auth import token_authenticate
from backend.accounts.models import AuthToken


def bearer_token(request: HttpRequest) -> str:
    scheme, _, raw = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return raw.strip() if scheme.lower() == "bearer" else ""


def request_token(request: HttpRequest) -> AuthToken | None:
    """The request's live token, looked up once per request in the request's schema."""
    if not hasattr(request, "_auth_token"):
        raw = bearer_token(request)
        request._auth_token = token_authenticate(raw) if raw else None  # type: ignore[attr-defined]
    return request._auth_token  # type: ignore[attr-defined]


class BearerTokenMiddleware:
    """Sets ``request.user`` lazily from ``Authorization: Bearer <token>``.

    The token is looked up in the schema of the request's clinic only, so a token issued by
    another clinic (or by the platform) is unknown here: the user stays anonymous and every
    protected field answers ``UNAUTHENTICATED``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        def user():
            token = request_token(request)
            return token.user if token is not None else AnonymousUser()

        request.user = SimpleLazyObject(user)  # type: ignore[assignment]
        return self.get_response(request)

"""JSON error responses shared by middleware and views: clients always get a code."""

from __future__ import annotations

from django.http import JsonResponse


def json_error(status: int, code: str, message: str) -> JsonResponse:
    """A JSON error body in the same shape as GraphQL errors: a message and a code."""
    return JsonResponse(
        {"errors": [{"message": str(message), "extensions": {"code": code}}]},
        status=status,
    )

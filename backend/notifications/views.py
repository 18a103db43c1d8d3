"""The patient's confirm/cancel page: ``GET /c/<token>`` on the clinic's own domain.

The token (``links``) is the credential: no session, no login, no cookie. What the page shows
is the least a patient needs (clinic, date and time in the clinic's zone, professional,
address, their first name), never the appointment's reason or notes. A ``POST`` confirms or
cancels through ``appointment_patient_respond``; it needs the form's signed key (bound to the
token, short-lived) and, when the browser sends one, an ``Origin``/``Referer`` of the clinic's
own host.

The page's text is Spanish in the template, like every other patient-facing message of the
clinic (the message templates): a patient's page never follows the browser's language. It
needs no JavaScript; its CSS is inline under a per-response nonce, and the
Content-Security-Policy allows nothing else."""

from __future__ import annotations

import logging
import secrets
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.views.decorators.csrf import csrf_exempt

from backend.clinic_admin.selectors import clinic_profile_get
from backend.notifications import links
from backend.notifications.rendering import spanish_date, spanish_time
from backend.scheduling.models import Appointment, AppointmentStatus
from backend.scheduling.services import appointment_patient_respond
from tenants_core.context import current_timezone

logger = logging.getLogger(__name__)

REASON_MAX_LENGTH = 300
ANSWERABLE = frozenset({AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED})


@csrf_exempt  # no session or cookie to ride on: the token and the form key are the check
def link_page(request: HttpRequest, token: str) -> HttpResponse:
    """The page, its two answers, and its refusals (each a Spanish page, never a 500)."""
    if request.method not in ("GET", "POST"):
        return _page(request, "method", status=405, extra_headers={"Allow": "GET, POST"})
    tenant = getattr(connection, "tenant", None)
    if tenant is None or getattr(tenant, "is_public", True):
        logger.info("link page: refused on the platform domain")
        return _page(request, "invalid", status=404)
    try:
        target = links.link_resolve(token)
    except links.LinkExpired:
        logger.info("link page: expired link")
        return _page(request, "expired", status=410)
    except links.LinkInvalid:
        logger.info("link page: invalid link")
        return _page(request, "invalid", status=404)
    appointment = (
        Appointment.objects.select_related("patient", "professional")
        .filter(pk=target.appointment_id)
        .first()
    )
    if appointment is None:
        logger.info("link page: appointment %s is gone", target.appointment_id)
        return _page(request, "invalid", status=404)
    logger.info(
        "link page: %s appointment=%s notification=%s",
        request.method,
        appointment.pk,
        target.notification_id,
    )
    if request.method == "POST":
        return _answer(request, token, appointment)
    if "cancelar" in request.GET and _answerable(appointment):
        return _page(request, "cancel_ask", token=token, appointment=appointment)
    return _page(request, _state(appointment), token=token, appointment=appointment)


def _answer(request: HttpRequest, token: str, appointment: Appointment) -> HttpResponse:
    if not _same_origin(request):
        logger.warning(
            "link page: POST from another origin refused, appointment=%s", appointment.pk
        )
        return _page(request, "forbidden", status=403)
    if not links.form_key_valid(token, request.POST.get("key", "")):
        logger.info("link page: stale or missing form key, appointment=%s", appointment.pk)
        return _page(
            request, _state(appointment), status=400, token=token, appointment=appointment,
            notice="stale",
        )  # fmt: skip
    action = request.POST.get("action")
    if action not in ("confirm", "cancel"):
        return _page(
            request, _state(appointment), status=400, token=token, appointment=appointment,
            notice="bad_action",
        )  # fmt: skip
    confirm = action == "confirm"
    # PostgreSQL text holds no NUL: one in a posted reason would be a 500, not a cancellation.
    reason = " ".join(request.POST.get("reason", "").replace("\x00", " ").split())
    reason = reason[:REASON_MAX_LENGTH]
    try:
        appointment = appointment_patient_respond(
            appointment=appointment, confirm=confirm, via="link", reason=reason
        )
    except ValidationError as error:
        # Already cancelled, past, or another state a patient can no longer change: the page
        # says what the appointment is now (a double POST of "cancel" lands here).
        logger.info(
            "link page: %s refused for appointment=%s (%s)",
            action,
            appointment.pk,
            getattr(error, "code", None) or "validation",
        )
        appointment.refresh_from_db()
        return _page(
            request, _state(appointment), status=409, token=token, appointment=appointment,
            notice="refused",
        )  # fmt: skip
    logger.info("link page: appointment=%s %s by the patient", appointment.pk, appointment.status)
    return _page(
        request,
        "done_confirmed" if confirm else "done_cancelled",
        token=token,
        appointment=appointment,
    )


def _answerable(appointment: Appointment) -> bool:
    return appointment.status in ANSWERABLE and appointment.starts_at > timezone.now()


def _state(appointment: Appointment) -> str:
    if appointment.status == AppointmentStatus.CANCELLED:
        return "cancelled"
    if not _answerable(appointment):
        return "past"
    if appointment.status == AppointmentStatus.CONFIRMED:
        return "confirmed"
    return "open"


def _same_origin(request: HttpRequest) -> bool:
    """An ``Origin`` (or, without one, a ``Referer``) must name this very host; a request
    with neither (an old browser, a privacy proxy) relies on the form key alone."""
    expected = f"{request.scheme}://{request.get_host()}"
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin == expected
    referer = request.headers.get("Referer")
    if referer:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}" == expected
    return True


def _details(appointment: Appointment) -> dict[str, str]:
    zone = current_timezone().key
    tenant = connection.tenant  # type: ignore[attr-defined]
    return {
        "clinic_name": tenant.name,
        "address": clinic_profile_get().address_text,
        "first_name": appointment.patient.first_name,
        "date": spanish_date(appointment.starts_at, zone),
        "time": spanish_time(appointment.starts_at, zone),
        "professional": appointment.professional.full_name,
    }


def _page(
    request: HttpRequest,
    state: str,
    *,
    status: int = 200,
    token: str | None = None,
    appointment: Appointment | None = None,
    notice: str = "",
    extra_headers: dict[str, str] | None = None,
) -> HttpResponse:
    nonce = secrets.token_urlsafe(18)
    context: dict[str, Any] = {"state": state, "nonce": nonce, "notice": notice}
    tenant = getattr(connection, "tenant", None)
    if tenant is not None and not getattr(tenant, "is_public", True):
        context["clinic_name"] = tenant.name
    if appointment is not None and token is not None:
        context.update(_details(appointment), key=links.form_key(token), path=request.path)
        context["can_confirm"] = state == "open"
        context["can_cancel"] = state in ("open", "confirmed")
    with translation.override("es"):
        body = render_to_string("notifications/link_page.html", context)
    response = HttpResponse(body, status=status, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )
    # The token is in the URL: no page this one links to may learn it, and the browser still
    # sends this page's own Origin with its POST (under "no-referrer" it sends "null").
    response["Referrer-Policy"] = "strict-origin"
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    for name, value in (extra_headers or {}).items():
        response[name] = value
    return response

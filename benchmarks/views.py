"""The two references the GraphQL day agenda is measured against (mounted only by the
benchmark's own URLconf, ``benchmarks/urls.py``, never by the product's):

- ``/bench/agenda/django``: a hand-written Django view, the ORM with ``select_related``;
- ``/bench/agenda/sql``: one SQL statement that builds the JSON text with ``json_agg``.

Both answer exactly what the GraphQL query ``AGENDA_QUERY`` answers, for the same
``from``/``to``/``first`` (the Django view byte for byte). They check what the GraphQL field
checks, in the same order: a clinic's domain, a live token of that clinic, a role that may see
the agenda. The patient search's and chart's references are in ``views_patients.py``.
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Window
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from strawberry.relay import to_base64

from backend.accounts.middleware import request_token
from backend.accounts.roles import role_has_permission
from backend.core.responses import json_error
from backend.scheduling import selectors
from backend.scheduling.permissions import SchedulingPermission
from graphql_api.core.datetimes import serialize_datetime
from graphql_api.core.ids import id_namespace, scoped_node_id
from tenants_core.context import current_timezone

# The GraphQL side of the comparison: the day agenda with patient, professional and chair.
AGENDA_QUERY = """
query Agenda($from: DateTime!, $to: DateTime!, $first: Int!) {
  appointments(from: $from, to: $to, first: $first) {
    totalCount
    edges { node {
      id startsAt status patient { fullName hasAlerts } professional { fullName } chair { name }
    } }
  }
}
"""


def json_body(body: dict[str, Any]) -> HttpResponse:
    """``body`` encoded as the GraphQL view encodes its answers (strawberry's ``encode_json``:
    compact separators, ASCII escapes): the same bytes for the same data."""
    return HttpResponse(json.dumps(body, separators=(",", ":")), content_type="application/json")


def refusal(request: HttpRequest, *permissions: StrEnum) -> HttpResponse | None:
    """What ``clinic_permission(...)`` refuses, as HTTP, for a view that answers several
    GraphQL fields at once: the role must hold every field's permission (a field it lacks
    would be a ``FORBIDDEN`` error in the GraphQL answer)."""
    if request.tenant.is_public:  # type: ignore[attr-defined]
        return json_error(
            404, "TENANT_DOMAIN_ONLY", _("This field is only available on a clinic's domain.")
        )
    token = request_token(request)
    if token is None:
        return json_error(
            401,
            "UNAUTHENTICATED",
            _("Sign in first: send a valid token as “Authorization: Bearer <token>”."),
        )
    if not all(role_has_permission(token.user.role, p) for p in permissions):
        return json_error(403, "FORBIDDEN", _("Your role does not allow this."))
    return None


def page_size(request: HttpRequest) -> int | None:
    """The ``first`` argument, up to the page limit of every GraphQL list; None when it is
    not a number in that range."""
    try:
        first = int(request.GET.get("first", settings.GRAPHQL_MAX_PAGE_SIZE))
    except ValueError:
        return None
    return first if 0 <= first <= settings.GRAPHQL_MAX_PAGE_SIZE else None


def _checked(request: HttpRequest) -> HttpResponse | tuple[dt.datetime, dt.datetime, int]:
    """The refusal the GraphQL agenda would give, or its arguments (``from``, ``to``,
    ``first``: the same page limit as every GraphQL list)."""
    refused = refusal(request, SchedulingPermission.VIEW_AGENDA)
    if refused is not None:
        return refused
    try:
        since = parse_datetime(request.GET.get("from", ""))
        until = parse_datetime(request.GET.get("to", ""))
    except ValueError:
        since = until = None
    first = page_size(request)
    if (
        since is None
        or until is None
        or since.tzinfo is None
        or until.tzinfo is None
        or first is None
    ):
        return json_error(
            400,
            "BAD_REQUEST",
            _(
                "Send “from” and “to” as ISO 8601 date-times with an offset, and “first” up "
                "to %(max)d."
            )
            % {"max": settings.GRAPHQL_MAX_PAGE_SIZE},
        )
    return since, until, first


@require_GET
def agenda_django(request: HttpRequest) -> HttpResponse:
    """The day agenda through the ORM: one statement (page, total and relations)."""
    checked = _checked(request)
    if isinstance(checked, HttpResponse):
        return checked
    since, until, first = checked
    token = request_token(request)
    assert token is not None  # _checked refused the request otherwise
    page = list(
        selectors.appointment_list(actor=token.user, since=since, until=until)
        .select_related("patient", "professional", "chair")
        .only(
            "id",
            "starts_at",
            "status",
            "patient__first_name",
            "patient__last_name",
            "patient__allergies",
            "patient__medical_alerts",
            "patient__front_desk_alert",
            "professional__full_name",
            "chair__name",
        )
        .annotate(total_count=Window(Count("id")))[:first]
    )
    # The window counts every matching row, before LIMIT. An empty page means no row matched,
    # unless the client asked for none: only then does the total cost a second statement.
    if page:
        total = page[0].total_count
    elif first == 0:
        total = selectors.appointment_list(actor=token.user, since=since, until=until).count()
    else:
        total = 0
    namespace = id_namespace()
    edges = [
        {
            "node": {
                "id": to_base64("Appointment", scoped_node_id(str(appointment.pk), namespace)),
                "startsAt": serialize_datetime(appointment.starts_at),
                "status": appointment.status,
                "patient": {
                    "fullName": appointment.patient.full_name,
                    "hasAlerts": appointment.patient.has_alerts,
                },
                "professional": {"fullName": appointment.professional.full_name},
                "chair": {"name": appointment.chair.name},
            }
        }
        for appointment in page
    ]
    return json_body({"data": {"appointments": {"totalCount": total, "edges": edges}}})


# The API's DateTime (graphql_api/core/datetimes.py): to the second, ±HH:MM; its global IDs
# (graphql_api/core/ids.py): base64 of "Appointment:<clinic key>.<pk>".
_AGENDA_SQL = """
WITH matching AS (
    SELECT id, starts_at, status, patient_id, professional_id, chair_id
    FROM scheduling_appointment WHERE ends_at > %(since)s AND starts_at < %(until)s
), page AS (
    SELECT * FROM matching ORDER BY starts_at, id LIMIT %(first)s
)
SELECT json_build_object('data', json_build_object('appointments', json_build_object(
    'totalCount', (SELECT count(*) FROM matching),
    'edges', coalesce((
        SELECT json_agg(json_build_object('node', json_build_object(
            'id', encode(convert_to('Appointment:' || %(clinic)s || '.' || p.id, 'UTF8'), 'base64'),
            'startsAt', to_char(t.local, 'YYYY-MM-DD"T"HH24:MI:SS')
                || CASE WHEN t.offset_s < 0 THEN '-' ELSE '+' END
                || to_char(make_interval(secs => abs(t.offset_s)), 'HH24:MI'),
            'status', p.status,
            'patient', json_build_object(
                'fullName', pa.first_name || ' ' || pa.last_name,
                'hasAlerts', btrim(pa.allergies, E' \\t\\n\\r\\f\\v') <> ''
                    OR btrim(pa.medical_alerts, E' \\t\\n\\r\\f\\v') <> ''
                    OR btrim(pa.front_desk_alert, E' \\t\\n\\r\\f\\v') <> ''),
            'professional', json_build_object('fullName', pr.full_name),
            'chair', json_build_object('name', ch.name)
        )) ORDER BY p.starts_at, p.id)
        FROM page p
        CROSS JOIN LATERAL (
            SELECT p.starts_at AT TIME ZONE %(zone)s AS local,
                   extract(epoch FROM (p.starts_at AT TIME ZONE %(zone)s)
                                    - (p.starts_at AT TIME ZONE 'UTC'))::int AS offset_s
        ) t
        JOIN patients_patient pa ON pa.id = p.patient_id
        JOIN staff_professional pr ON pr.id = p.professional_id
        JOIN staff_chair ch ON ch.id = p.chair_id
    ), '[]'::json)
)))::text
"""


@require_GET
def agenda_sql(request: HttpRequest) -> HttpResponse:
    """The floor: PostgreSQL builds the whole body in one statement; Python only copies it."""
    checked = _checked(request)
    if isinstance(checked, HttpResponse):
        return checked
    since, until, first = checked
    with connection.cursor() as cursor:
        cursor.execute(
            _AGENDA_SQL,
            {
                "since": since,
                "until": until,
                "first": first,
                "zone": current_timezone().key,
                "clinic": id_namespace(),
            },
        )
        body = cursor.fetchone()[0]
    return HttpResponse(body, content_type="application/json")


_graphql = None


@csrf_exempt
def graphql_normal(request: HttpRequest) -> HttpResponseBase:
    """The product's GraphQL endpoint with compiled reads off for this request
    (graphql_api/core/compiled/extension.py): what a query the planner declines costs."""
    global _graphql
    if _graphql is None:
        from graphql_api.core.views import graphql_view
        from graphql_api.schema import schema

        _graphql = graphql_view(schema)
    request.compiled_reads = False  # type: ignore[attr-defined]  # read by CompiledReads
    return _graphql(request)

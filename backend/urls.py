"""Every domain (platform and clinics) serves the same URLs; the tenant middleware picks the
schema. The catch-all keeps unknown paths JSON even when DEBUG is on."""

from django.conf import settings
from django.urls import path, re_path

from backend.core import views
from backend.core.tenancy import request_transaction
from graphql_api.core.views import graphql_view
from graphql_api.schema import schema

urlpatterns = [
    # Each request's SQL runs in one transaction, which carries the clinic's schema.
    path("graphql", request_transaction(graphql_view(schema)), name="graphql"),
    path("healthz", request_transaction(views.healthz), name="healthz"),
]

if settings.BENCH_ENDPOINTS:
    # Only for scripts/bench: the references the GraphQL agenda is measured against.
    from backend.benchmarks import views as bench_views

    urlpatterns += [
        path(
            "bench/agenda/django",
            request_transaction(bench_views.agenda_django),
            name="bench-agenda-django",
        ),
        path(
            "bench/agenda/sql",
            request_transaction(bench_views.agenda_sql),
            name="bench-agenda-sql",
        ),
    ]

urlpatterns.append(re_path(r"^.*$", views.not_found))

handler400 = "backend.core.views.bad_request"
handler403 = "backend.core.views.permission_denied"
handler404 = "backend.core.views.not_found"
handler500 = "backend.core.views.server_error"

"""Every domain (platform and clinics) serves the same URLs; the tenant middleware picks the
schema. The catch-all keeps unknown paths JSON even when DEBUG is on."""

from django.urls import path, re_path

from backend.core import views
from graphql_api.views import graphql_view

urlpatterns = [
    path("graphql", graphql_view, name="graphql"),
    path("healthz", views.healthz, name="healthz"),
    re_path(r"^.*$", views.not_found),
]

handler400 = "backend.core.views.bad_request"
handler403 = "backend.core.views.permission_denied"
handler404 = "backend.core.views.not_found"
handler500 = "backend.core.views.server_error"

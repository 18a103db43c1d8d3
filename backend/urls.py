"""Every domain (platform and clinics) serves the same URLs; the tenant middleware picks the
schema. The catch-all keeps unknown paths JSON even when DEBUG is on."""

from django.urls import path, re_path

from backend.branding import views as branding_views
from backend.console.site import console_site, console_static
from backend.core import views
from backend.core.tenancy import request_transaction
from backend.files import views as file_views
from backend.notifications import views as notification_views
from backend.notifications import webhooks
from graphql_api.core.views import graphql_view
from graphql_api.graphiql import graphiql_asset
from graphql_api.schema import schema

urlpatterns = [
    # Each request's SQL runs in one transaction, which carries the clinic's schema.
    path("graphql", request_transaction(graphql_view(schema)), name="graphql"),
    # GraphiQL's own files (when settings.GRAPHIQL), self-hosted: on every domain, no database.
    path("graphiql/<str:digest>/<str:name>", graphiql_asset, name="graphiql-asset"),
    path("healthz", request_transaction(views.healthz), name="healthz"),
    # The patient's confirm/cancel page (links in messages): HTML, on the clinic's own domain.
    path("c/<str:token>", request_transaction(notification_views.link_page), name="link_page"),
    # The clinic's logo, public and cached for a year: its name is its content's hash.
    path("logo/<str:name>", request_transaction(branding_views.logo_image), name="clinic-logo"),
    # A signed, short-lived link to one file (a patient document): on the clinic's domain.
    path("files/<str:token>", request_transaction(file_views.download), name="file_download"),
    # Provider webhooks: any host; the clinic comes from the payload, each event in its own
    # clinic transaction (not request_transaction).
    path("webhooks/whatsapp", webhooks.whatsapp_webhook, name="webhook-whatsapp"),
    path("webhooks/sms", webhooks.sms_inbound, name="webhook-sms"),
    path("webhooks/sms/status", webhooks.sms_status, name="webhook-sms-status"),
    # The platform console (Django admin): the public host only; a clinic's host gets the 404
    # below. Its views run in the request's transaction, with a session of their own.
    path("console/static/<path:path>", console_static, name="console-static"),
    path("console/", console_site.urls),
    re_path(r"^.*$", views.not_found),
]

handler400 = "backend.core.views.bad_request"
handler403 = "backend.core.views.permission_denied"
handler404 = "backend.core.views.not_found"
handler500 = "backend.core.views.server_error"

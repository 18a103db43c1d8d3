"""The product's URLs plus the references the GraphQL agenda, patient search and patient
chart are measured against (``views.py``, ``views_patients.py``), in front of the product's
catch-all. The product never mounts them: only the benchmark's settings (``settings.py``)
point ``ROOT_URLCONF`` here."""

from django.urls import path

from backend import urls as product_urls
from backend.core.tenancy import request_transaction
from benchmarks import views, views_patients

urlpatterns = [
    # The same GraphQL endpoint, compiled reads off: graphql-core executes every request.
    path(
        "bench/graphql/normal",
        request_transaction(views.graphql_normal),
        name="bench-graphql-normal",
    ),
    path(
        "bench/agenda/django",
        request_transaction(views.agenda_django),
        name="bench-agenda-django",
    ),
    path("bench/agenda/sql", request_transaction(views.agenda_sql), name="bench-agenda-sql"),
    path(
        "bench/patients/django",
        request_transaction(views_patients.patients_django),
        name="bench-patients-django",
    ),
    path(
        "bench/chart/django",
        request_transaction(views_patients.chart_django),
        name="bench-chart-django",
    ),
    *product_urls.urlpatterns,
]
handler400 = product_urls.handler400
handler403 = product_urls.handler403
handler404 = product_urls.handler404
handler500 = product_urls.handler500

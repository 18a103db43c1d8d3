"""The product's URLs plus the references the GraphQL agenda is measured against
(``views.py``), in front of the product's catch-all. The product never mounts them: only the
benchmark's settings (``settings.py``) point ``ROOT_URLCONF`` here."""

from django.urls import path

from backend import urls as product_urls
from backend.core.tenancy import request_transaction
from benchmarks import views

urlpatterns = [
    path(
        "bench/agenda/django",
        request_transaction(views.agenda_django),
        name="bench-agenda-django",
    ),
    path("bench/agenda/sql", request_transaction(views.agenda_sql), name="bench-agenda-sql"),
    *product_urls.urlpatterns,
]
handler400 = product_urls.handler400
handler403 = product_urls.handler403
handler404 = product_urls.handler404
handler500 = product_urls.handler500

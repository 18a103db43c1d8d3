"""ASGI entry point, served by uvicorn. The GraphQL view is sync: Django runs it in a thread
that keeps the tenant schema set by the middleware (see CONVENTIONS, tenancy rules)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

application = get_asgi_application()

"""The product's settings, serving the benchmark's URLconf (``benchmarks/urls.py``: the
product's URLs plus the comparison endpoints). Only the benchmark's own uvicorn runs with
them (``DJANGO_SETTINGS_MODULE=benchmarks.settings``, ``server.uvicorn``), and the tests of
the endpoints; everything else measured is the product as configured."""

from backend.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls"

"""pytest plugin of the mutation runs (``-p tests.mutation.kept_database``): one test database,
``test_dental_mutation``, built once by the run and reused (``--reuse-db``) by every mutant,
so a mutant pays for its tests, not for migrating and seeding three clinics (~30 s).

Its own name keeps it apart from a developer's ``--reuse-db`` database and from the
per-process databases of ordinary runs."""

from __future__ import annotations

import pytest
from django.conf import settings

NAME = "test_dental_mutation"


def pytest_configure(config: pytest.Config) -> None:
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = NAME

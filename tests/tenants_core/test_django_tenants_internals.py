"""Fails loudly when django-tenants changes under ``backend/core/db_backend``: the installed
version must be one the backend was written for (and ``pyproject.toml`` must pin it), and each
internal the backend overrides or calls must still be where, and do what, it relies on."""

from __future__ import annotations

import inspect
import tomllib
from importlib.metadata import version
from pathlib import Path

from django.db import connection
from django_tenants.postgresql_backend import base as tenants_base
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from backend.core.db_backend import base as backend
from tests.conftest import ROOT


def test_the_installed_django_tenants_is_one_the_backend_was_written_for():
    supported = SpecifierSet(backend.SUPPORTED_VERSIONS["django-tenants"])
    assert version("django-tenants") in supported, (
        f"django-tenants {version('django-tenants')} is outside {supported}: re-read "
        "backend/core/db_backend/base.py against it, then widen the range there and in "
        "pyproject.toml"
    )


def test_pyproject_pins_the_supported_range():
    project = tomllib.loads(Path(ROOT, "pyproject.toml").read_text())["project"]
    pinned = {
        requirement.name: requirement.specifier
        for requirement in map(Requirement, project["dependencies"])
        if requirement.name in backend.SUPPORTED_VERSIONS
    }
    assert pinned == {name: SpecifierSet(spec) for name, spec in backend.SUPPORTED_VERSIONS.items()}


def test_django_tenants_sets_the_path_through_the_one_method_the_backend_silences():
    """Its ``_cursor`` sends the session-level ``SET search_path`` from
    ``_handle_search_path``; the backend overrides that method with a no-op. If the SET moved
    elsewhere, transaction pools would leak again."""
    source = inspect.getsource(tenants_base.DatabaseWrapper._cursor)
    assert "self._handle_search_path(" in source
    assert backend.DatabaseWrapper._handle_search_path is not (
        tenants_base.DatabaseWrapper._handle_search_path
    )
    assert "SET search_path" not in inspect.getsource(backend.DatabaseWrapper)


def test_the_cursor_search_paths_are_the_schema_then_public_then_the_extra_paths(clinic1):
    connection.set_tenant(clinic1)
    try:
        paths = connection._get_cursor_search_paths()
        assert paths[:2] == [clinic1.schema_name, "public"]
        assert connection.search_path() == ",".join(f'"{name}"' for name in paths)
    finally:
        connection.set_schema_to_public()

"""Every module of the product imports on this interpreter: CI runs this (in the named subset,
.ci/python-subset) on a second Python version, where an import-time incompatibility (a removed
stdlib module, a changed typing rule, a dependency without that version's build) shows first."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

PRODUCT = ("backend", "tenants_core", "graphql_api")
# Refuses on purpose to load outside ``manage.py serve``; tests/test_server_launch.py starts it.
LOADED_BY_THE_SERVER_ONLY = {"backend.asgi"}


def _modules() -> list[str]:
    names: list[str] = []
    for top in PRODUCT:
        package = importlib.import_module(top)
        names.append(top)
        names += [
            info.name
            for info in pkgutil.walk_packages(package.__path__, prefix=f"{top}.")
            if ".migrations." not in info.name and info.name not in LOADED_BY_THE_SERVER_ONLY
        ]
    return sorted(names)


MODULES = _modules()


def test_the_walk_finds_every_app():
    apps = {name.split(".")[1] for name in MODULES if name.startswith("backend.") and "." in name}
    assert {"accounts", "billing", "scheduling", "notifications", "core", "console"} <= apps
    assert "graphql_api.schema" in MODULES
    assert "tenants_core.management.commands.create_clinic" in MODULES
    assert len(MODULES) > 200


@pytest.mark.parametrize("name", MODULES)
def test_the_module_imports(name):
    assert importlib.import_module(name).__name__ == name

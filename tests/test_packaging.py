"""What the installed product holds: ``backend``, ``tenants_core`` and ``graphql_api``, and
nothing of the benchmarks, the tests or the tools only they use (``devtools``)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import setuptools

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = {"backend", "tenants_core", "graphql_api"}
CHECKOUT_ONLY = {"benchmarks", "devtools", "tests"}


def shipped_packages() -> list[str]:
    """The packages a build of the project installs, found as setuptools finds them from
    ``[tool.setuptools.packages.find]`` in ``pyproject.toml`` (namespace packages included,
    its default for that table)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    find = pyproject["tool"]["setuptools"]["packages"]["find"]
    return setuptools.find_namespace_packages(
        where=str(ROOT), include=find.get("include", ("*",)), exclude=find.get("exclude", ())
    )


def test_the_installed_packages_are_the_products():
    packages = shipped_packages()
    assert {package.split(".")[0] for package in packages} == PRODUCT
    assert {"backend.resources", "backend.demo", "graphql_api.core"} <= set(packages)


def test_the_benchmarks_and_what_only_tests_use_are_not_installed():
    packages = shipped_packages()
    found = [package for package in packages if CHECKOUT_ONLY & set(package.split("."))]
    assert found == []
    assert (ROOT / "benchmarks" / "__main__.py").is_file()  # it is still in the checkout


def test_the_product_never_imports_the_benchmarks_or_what_only_tests_use():
    """An installed product would fail on such an import; the bench endpoints would be one
    import away from the product's URLs."""
    found = []
    for top in sorted(PRODUCT):
        for path in sorted((ROOT / top).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module or ""]
                else:
                    continue
                found += [
                    f"{path.relative_to(ROOT)}: {name}"
                    for name in names
                    if name.split(".")[0] in CHECKOUT_ONLY
                ]
    assert found == []

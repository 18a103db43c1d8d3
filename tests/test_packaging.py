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


def _lock_entries() -> dict[str, tuple[str, list[str]]]:
    """requirements.lock as {normalized name: (version, hashes)}."""
    from packaging.utils import canonicalize_name

    entries: dict[str, tuple[str, list[str]]] = {}
    text = (ROOT / "requirements.lock").read_text().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, *options = line.split()
        name, _, version = requirement.partition("==")
        hashes = [o.removeprefix("--hash=") for o in options if o.startswith("--hash=sha256:")]
        entries[canonicalize_name(name.split("[")[0])] = (version, hashes)
    return entries


def _constraints() -> dict[str, str]:
    from packaging.utils import canonicalize_name

    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canonicalize_name(name)] = version.strip()
    return pins


def test_the_lock_pins_every_dependency_with_hashes_at_the_tested_versions():
    """The image installs requirements.lock with --require-hashes: it must hold every
    dependency, in its range, each with its files' hashes, at the versions the suite runs with
    (constraints.txt), and the build backend at the version [build-system] pins. After a change
    to pyproject.toml or constraints.txt, scripts/lock brings it up to date."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lock = _lock_entries()
    constraints = _constraints()
    problems = []
    for spec in pyproject["project"]["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        if name not in lock:
            problems.append(f"{name} is not in requirements.lock")
        elif not requirement.specifier.contains(lock[name][0], prereleases=True):
            problems.append(f"{name} {lock[name][0]} is outside {requirement.specifier}")
    for name, (version, hashes) in lock.items():
        if not version or not hashes:
            problems.append(f"{name} has no exact version or no hash")
        if name in constraints and constraints[name] != version:
            problems.append(f"{name} {version} in the lock, {constraints[name]} in constraints")
    (build_backend,) = pyproject["build-system"]["requires"]
    assert build_backend.startswith("setuptools==")
    if lock.get("setuptools", ("",))[0] != build_backend.split("==")[1]:
        problems.append(f"the lock's setuptools is not {build_backend}")
    assert problems == [], "run scripts/lock: " + "; ".join(problems)
    assert len(lock) > len(pyproject["project"]["dependencies"])  # their dependencies too

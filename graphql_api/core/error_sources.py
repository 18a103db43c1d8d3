"""Reading the project's source for ``error_catalog``: which module names which
``Name.attribute`` (``SchedulingError.APPOINTMENT_OVERLAP``), and what each module or function
uses of the rest of the project. Static (``ast``), so it sees every branch, not only those a
test runs."""

from __future__ import annotations

import ast
import importlib.util
from functools import cache
from pathlib import Path

ROOTS = ("backend", "tenants_core", "graphql_api")

Unit = tuple[str, str | None]  # a module, and one of its functions (None: all of it)
Attribute = tuple[str, str]  # ("SchedulingError", "APPOINTMENT_OVERLAP")


def _file(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    return Path(spec.origin) if spec and spec.origin and spec.origin.endswith(".py") else None


@cache
def project_modules() -> dict[str, Path]:
    """Every module of the project's packages (no migrations), by dotted name."""
    modules = {}
    for root in ROOTS:
        base = _file(root)
        assert base is not None
        top = base.parent.parent
        for path in base.parent.rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(top).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


@cache
def parsed(module: str) -> ast.Module:
    return ast.parse(project_modules()[module].read_text())


def _attributes(tree: ast.AST) -> frozenset[Attribute]:
    return frozenset(
        (node.value.id, node.attr)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
    )


@cache
def attributes_named_in(module: str) -> frozenset[Attribute]:
    """Every ``Name.attribute`` that ``module`` names."""
    return _attributes(parsed(module))


def _functions(module: str) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    return {
        node.name: node
        for node in parsed(module).body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


@cache
def _imported_names(module: str) -> dict[str, Unit]:
    """What ``module`` imports from the project: each local name, and the unit it names
    (``from a.b import f``: ``(a.b, f)`` if ``f`` is a function of a.b, else all of a.b or
    of the module a.b.f)."""
    known = project_modules()
    names: dict[str, Unit] = {}
    for node in ast.walk(parsed(module)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    names[alias.asname or alias.name] = (alias.name, None)
        elif isinstance(node, ast.ImportFrom) and node.module in known and node.level == 0:
            for alias in node.names:
                local = alias.asname or alias.name
                submodule = f"{node.module}.{alias.name}"
                if submodule in known:
                    names[local] = (submodule, None)
                elif alias.name in _functions(node.module):
                    names[local] = (node.module, alias.name)
                else:
                    names[local] = (node.module, None)
    return names


@cache
def unit_attributes_and_uses(unit: Unit) -> tuple[frozenset[Attribute], frozenset[Unit]]:
    """What a unit names, and the units it uses: for a function, the functions of its module
    it calls and the project names it uses; for a module, all its imports."""
    module, function = unit
    imported = _imported_names(module)
    if function is None:
        return attributes_named_in(module), frozenset(imported.values())
    own = _functions(module)
    node = own[function]
    uses: set[Unit] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            if child.id in own and child.id != function:
                uses.add((module, child.id))
            elif child.id in imported:
                uses.add(imported[child.id])
    return _attributes(node), frozenset(uses)


def package(module: str) -> str:
    """The domain package a module belongs to: ``backend.scheduling``, ``tenants_core``,
    ``graphql_api.scheduling``."""
    parts = module.split(".")
    return parts[0] if parts[0] == "tenants_core" else ".".join(parts[:2])

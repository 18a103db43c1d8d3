"""The import-linter contracts (``[tool.importlinter]`` in pyproject.toml) hold, and they
bite: an illegal import added to a copy of the tree makes ``lint-imports`` fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("backend", "tenants_core", "graphql_api", "benchmarks", "devtools")

pytestmark = pytest.mark.slow


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on ``tree``, whose packages come first on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command;"
         " sys.exit(lint_imports_command())", "--no-cache"],
        cwd=tree, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("layers")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    clean = _lint_imports(tree)
    assert clean.returncode == 0, "the copy must start clean:\n" + clean.stdout
    return tree


@pytest.mark.parametrize(
    ("module", "illegal_import", "broken_contract"),
    [
        (
            "tenants_core/services.py",
            "from backend.accounts.models import Role",
            "tenants_core imports no clinic app",
        ),
        ("backend/audit/services.py", "import graphql_api.schema", "never import graphql_api"),
        ("backend/audit/selectors.py", "import backend.accounts.selectors", "Layers point down"),
        ("backend/core/lookups.py", "import tenants_core.models", "backend.core imports no app"),
    ],
)
def test_an_illegal_import_breaks_a_contract(tree_copy, module, illegal_import, broken_contract):
    path = tree_copy / module
    original = path.read_text()
    path.write_text(original + f"\n{illegal_import}  # noqa\n")
    try:
        result = _lint_imports(tree_copy)
    finally:
        path.write_text(original)
    assert result.returncode != 0, result.stdout
    assert broken_contract in result.stdout
    assert "BROKEN" in result.stdout

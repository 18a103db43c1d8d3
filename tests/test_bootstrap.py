"""scripts/_bootstrap.sh picks the Python: PYTHON if set and supported, else the newest
supported one found; it keeps an existing virtualenv of a supported version unless PYTHON asks
for another; it refuses an unsupported one with a clear message. Run for real in a scratch
checkout holding the two scripts and a project with no dependencies. Interpreters other than
the one running the tests are stand-ins that answer the bootstrap's version probe (and hand
anything else to the real one), so the test needs no second Python installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

SUPPORTED = ("3.11", "3.12", "3.13")
CURRENT = "{}.{}".format(*sys.version_info[:2])
# The tools the bootstrap runs besides Python; nothing else is on the scratch PATH.
TOOLS = ("cat", "cut", "dirname", "sed", "sha256sum")

PYPROJECT = """
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "bootstrap-probe"
version = "0"
requires-python = ">=3.11,<3.14"

[project.optional-dependencies]
dev = []

[tool.setuptools]
py-modules = []
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    for name in ("_bootstrap.sh", "_python.sh"):
        shutil.copy(ROOT / "scripts" / name, tmp_path / "scripts" / name)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "constraints.txt").write_text("")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, f"{tool} is needed by scripts/_bootstrap.sh"
        (bin_dir / tool).symlink_to(found)
    return tmp_path


def _python(checkout: Path, name: str, version: str | None = None) -> str:
    """``bin/<name>``: the real interpreter, or one that says it is ``version``."""
    path = checkout / "bin" / name
    if version is None:
        path.symlink_to(sys.executable)
    else:
        path.write_text(
            f'#!/bin/sh\nif [ "$1" = "-c" ]; then echo {version}; exit 0; fi\n'
            f'exec "{sys.executable}" "$@"\n'
        )
        path.chmod(0o755)
    return name


def _bootstrap(checkout: Path, **env: str) -> subprocess.CompletedProcess[str]:
    script = 'source scripts/_bootstrap.sh; python -c "import sys; print(sys.prefix)"'
    base = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "PIP_CONFIG_FILE")}
    base.update(
        {k: v for k, v in os.environ.items() if k.startswith("PIP_") or k.endswith("_PROXY")}
    )
    return subprocess.run(
        ["/bin/bash", "-c", script],
        cwd=checkout,
        env={**base, "PATH": str(checkout / "bin"), **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def _venv_version(checkout: Path) -> str:
    config = (checkout / ".venv" / "pyvenv.cfg").read_text()
    line = next(line for line in config.splitlines() if line.startswith("version"))
    return ".".join(line.split("=")[1].strip().split(".")[:2])


def test_only_an_unsupported_python_is_refused_clearly(checkout):
    _python(checkout, "python3", "3.10")
    result = _bootstrap(checkout)
    assert result.returncode == 1
    assert "No supported Python found: this project needs Python 3.13, 3.12, 3.11." in (
        result.stderr
    )
    assert not (checkout / ".venv").exists()


@pytest.mark.parametrize("version", ["3.10", "3.14"])
def test_python_asking_for_an_unsupported_version_is_refused(checkout, version):
    _python(checkout, "python3", None)
    name = _python(checkout, f"python{version}", version)
    result = _bootstrap(checkout, PYTHON=name)
    assert result.returncode == 1
    assert f"PYTHON={name} is Python {version}; this project supports Python 3.13, 3.12, 3.11." in (
        result.stderr
    )
    assert not (checkout / ".venv").exists()


def test_python_that_does_not_run_is_refused(checkout):
    result = _bootstrap(checkout, PYTHON="python3.13")
    assert result.returncode == 1
    assert "PYTHON=python3.13 does not run." in result.stderr


def test_the_newest_supported_python_is_picked_then_kept_until_python_asks_otherwise(checkout):
    assert CURRENT in SUPPORTED
    # An unsupported newer one is passed over; the running interpreter is the only real one.
    _python(checkout, "python3.14", "3.14")
    _python(checkout, f"python{CURRENT}", None)

    created = _bootstrap(checkout)
    assert created.returncode == 0, created.stderr
    found = checkout / "bin" / f"python{CURRENT}"
    assert f"Creating .venv with Python {CURRENT} ({found}, the newest supported one found)" in (
        created.stdout
    )
    assert _venv_version(checkout) == CURRENT
    assert created.stdout.strip().endswith(str(checkout / ".venv"))

    # A newer supported Python appears: the working .venv is kept, and the way on is said.
    others = [v for v in SUPPORTED if v != CURRENT]
    newer = [v for v in others if v > CURRENT]
    other = newer[-1] if newer else others[0]
    _python(checkout, f"python{other}", other)
    kept = _bootstrap(checkout)
    assert kept.returncode == 0, kept.stderr
    assert f"Python {CURRENT}: the existing .venv is kept" in kept.stdout
    if newer:
        found = checkout / "bin" / f"python{other}"
        assert f"(Python {other} is here too: PYTHON={found} rebuilds .venv with it)" in kept.stdout
    assert "Installing" not in kept.stdout

    # PYTHON asks for another version: the .venv is rebuilt with it.
    rebuilt = _bootstrap(checkout, PYTHON=f"python{other}")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert (
        f"Rebuilding .venv (Python {CURRENT}) with Python {other} (python{other}, as PYTHON asks)"
        in rebuilt.stdout
    )
    assert "Installing the project" in rebuilt.stdout

"""Build the product's wheel as the image does, and check what it ships (run by ``.ci/run``).

``python -m devtools.wheel_check [--keep DIR]``

1. Builds the wheel from a copy of the files git tracks (a ``build/`` folder left in the
   checkout by an earlier build can carry deleted modules into a wheel), with the pinned build
   backend: the installed setuptools must be the version ``[build-system]`` pins.
2. Reads the wheel: it holds every Python module and every other tracked file (templates,
   GraphiQL's vendored files) of ``backend``, ``tenants_core`` and ``graphql_api``, and every
   catalog of ``locale/`` (``.po`` and ``.mo``); it holds nothing of the benchmarks, the tests,
   the docs, the scripts or the tools only they use.
3. Installs it (without its dependencies: those of this virtualenv are borrowed) into a
   throwaway virtualenv and, from outside the checkout, loads the settings as production does
   (``DEBUG`` off; a throwaway embedded PostgreSQL) and checks that the installed product
   speaks Spanish (``LOCALE_PATHS`` is the installed copy), renders its templates and finds
   GraphiQL's files.

Exits non-zero with the list of problems; prints what it checked.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("backend", "tenants_core", "graphql_api")
NEVER_SHIPPED = ("benchmarks", "devtools", "tests", "docs", "scripts", "locale", ".ci")
LOCALE_PREFIX = "share/dental-saas/locale/"


def tracked_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode()
    return [name for name in out.split("\0") if name and (ROOT / name).is_file()]


def pinned_setuptools() -> str:
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    pins = [r.split("==", 1)[1] for r in requires if r.startswith("setuptools==")]
    if not pins:
        raise SystemExit("pyproject.toml's [build-system] must pin setuptools (setuptools==X).")
    return pins[0]


def build_wheel(into: Path) -> Path:
    """Build from a copy of the tracked files; returns the wheel's path."""
    import setuptools

    pinned = pinned_setuptools()
    if setuptools.__version__ != pinned:
        raise SystemExit(
            f"setuptools {setuptools.__version__} is installed, the build pins {pinned}: "
            "run scripts/test once to reinstall the virtualenv."
        )
    source = into / "source"
    for name in tracked_files():
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(into / "dist"), str(source)],
        check=True,
    )  # fmt: skip
    (wheel,) = (into / "dist").glob("dental_saas-*.whl")
    return wheel


def wheel_problems(wheel: Path, tracked: list[str]) -> tuple[list[str], dict[str, int]]:
    """What the wheel lacks or should not hold, and a count of what it holds."""
    names = zipfile.ZipFile(wheel).namelist()
    data_dir = next(
        (n.split("/", 1)[0] for n in names if n.split("/", 1)[0].endswith(".data")), None
    )
    shipped = set(names)
    problems = []
    expected = [n for n in tracked if n.split("/", 1)[0] in PRODUCT]
    problems += [f"missing from the wheel: {n}" for n in expected if n not in shipped]
    catalogs = [n for n in tracked if n.startswith("locale/") and n.endswith((".po", ".mo"))]
    if not any(n.endswith(".mo") for n in catalogs):
        problems.append("locale/ holds no compiled catalog (.mo): run msgfmt (docs/testing.md)")
    for name in catalogs:
        wanted = f"{data_dir}/data/{LOCALE_PREFIX}{name.removeprefix('locale/')}"
        if wanted not in shipped:
            problems.append(
                f"missing from the wheel: {name} (add it to [tool.setuptools.data-files])"
            )
    for name in names:
        top = PurePosixPath(name).parts[0]
        if top in NEVER_SHIPPED or top.startswith((".venv", ".data")):
            problems.append(f"must not be in the wheel: {name}")
    counts = {
        "product files": sum(1 for n in names if n.split("/", 1)[0] in PRODUCT),
        "catalogs": sum(1 for n in names if LOCALE_PREFIX in n),
    }
    return problems, counts


def _clean_environment() -> dict[str, str]:
    """This process's environment without what points Python at the checkout or at another
    environment: scripts/_bootstrap.sh exports PYTHONPATH=<checkout>, where pip would find the
    editable install's metadata, call the wheel "already satisfied" and install nothing."""
    drop = ("PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE", "VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE")
    return {
        name: value
        for name, value in os.environ.items()
        if name not in drop and not name.startswith("PIP_")
    }


def installed_problems(wheel: Path, into: Path) -> list[str]:
    """Install the wheel in a throwaway virtualenv and run the product from it."""
    venv = into / "venv"
    clean = _clean_environment()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=clean)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True, env=clean, cwd=into,
    )  # fmt: skip
    # The dependencies are this virtualenv's: its site-packages, after the throwaway one's
    # (a .pth line adds a path; it runs none of that folder's own .pth files, so this
    # virtualenv's editable install of the checkout stays out).
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True, env=clean,
    ).stdout.strip()  # fmt: skip
    if not Path(site, "backend", "settings.py").is_file():
        return [f"pip installed no backend package into {site}"]
    ours = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True, env=clean,
    ).stdout.strip()  # fmt: skip
    Path(site, "_borrowed_dependencies.pth").write_text(ours + "\n")
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(into),
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "BACKUP_ENCRYPTION_KEYS": "ci:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        # django-tenants opens the database as the apps load: a throwaway embedded server.
        "EMBEDDED_POSTGRES": "1",
        "DATA_DIR": str(into / "data"),
        "BASE_DOMAIN": "example.com",
    }
    msgid, msgstr = first_translation(ROOT / "locale" / "es" / "LC_MESSAGES" / "django.po")
    probe = f"""
import sys, django
from pathlib import Path
django.setup()
from django.conf import settings
from django.template.loader import get_template
from django.utils import translation
import backend, graphql_api
prefix = Path(sys.prefix).resolve()
problems = []
for package in (backend, graphql_api):
    if prefix not in Path(package.__file__).resolve().parents:
        problems.append(f"{{package.__name__}} was imported from {{package.__file__}}")
if not settings.LOCALE_PATHS or prefix not in Path(settings.LOCALE_PATHS[0]).resolve().parents:
    problems.append(f"LOCALE_PATHS is {{settings.LOCALE_PATHS}}, not the installed copy")
with translation.override("es"):
    if translation.gettext({msgid!r}) != {msgstr!r}:
        problems.append("the installed product does not speak Spanish")
for name in ("console/index.html", "notifications/link_page.html", "graphql_api/graphiql.html"):
    get_template(name)
if not (Path(graphql_api.__file__).parent / "static" / "graphiql" / "graphiql.min.js").is_file():
    problems.append("GraphiQL's vendored files are missing")
print("\\n".join(problems))
"""
    result = subprocess.run(
        [str(python), "-c", probe], cwd=into, env=environment, capture_output=True, text=True
    )
    if result.returncode != 0:
        return [f"the installed wheel failed to run:\n{result.stderr.strip()}"]
    return [line for line in result.stdout.splitlines() if line.strip()]


def first_translation(po: Path) -> tuple[str, str]:
    """A one-line message of the catalog and its Spanish, with no placeholder in either."""
    pairs = re.findall(r'^msgid "(.+)"\nmsgstr "(.+)"$', po.read_text(), re.MULTILINE)
    for msgid, msgstr in pairs:
        if msgid != msgstr and "%" not in msgid and "{" not in msgid and "\\" not in msgid:
            return msgid, msgstr
    raise SystemExit(f"{po} has no plain one-line translation to check")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build here and keep the wheel")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wheel-check-") as scratch:
        into = options.keep or Path(scratch)
        into.mkdir(parents=True, exist_ok=True)
        wheel = build_wheel(into)
        problems, counts = wheel_problems(wheel, tracked_files())
        if not problems:
            problems = installed_problems(wheel, into)
        summary = ", ".join(f"{count} {what}" for what, count in counts.items())
        if problems:
            print(f"wheel check: {wheel.name} ({summary}) FAILED:", file=sys.stderr)
            for problem in problems:
                print(f"  - {problem}", file=sys.stderr)
            return 1
        print(
            f"wheel check: {wheel.name} ({summary}; {wheel.stat().st_size // 1024} KiB): "
            "every module, template, static file and catalog; no benchmarks, tests, docs or "
            "tools; installed, it loads its settings outside the checkout and speaks Spanish"
        )
        return 0


if __name__ == "__main__":
    sys.exit(main())

"""Django speaks to PostgreSQL through psycopg2, even where psycopg 3 is installed.

Django's PostgreSQL backend picks psycopg 3 whenever it can import it. The job queue's worker
(procrastinate) depends on psycopg 3 for its own asynchronous connections, so psycopg 3 is
installed; the project's database code (this backend, the plan limits, the restores, the
error handling) is written for psycopg2, the driver the stack fixes. ``pin_psycopg2()``,
called by the settings before Django loads any app, imports Django's backend modules while
``import psycopg`` fails, so that they bind psycopg2 for the life of the process. psycopg 3
stays importable afterwards, for the worker's connections only.
"""

from __future__ import annotations

import sys
import warnings

_DJANGO_MODULES = (
    "django.db.backends.postgresql.psycopg_any",
    "django.db.backends.postgresql.base",
)


def pin_psycopg2() -> None:
    already = sys.modules.get(_DJANGO_MODULES[0])
    if already is not None:
        if already.is_psycopg3 and "mypy" not in sys.modules:
            # A tool that imports Django's backend before the settings (mypy's Django plugin)
            # gets psycopg 3; tests/jobs/test_driver.py proves the project's processes do not.
            warnings.warn(
                "Django's PostgreSQL backend was imported before the settings: it uses psycopg 3.",
                RuntimeWarning,
                stacklevel=2,
            )
        return
    missing = object()
    saved = sys.modules.get("psycopg", missing)
    sys.modules["psycopg"] = None  # type: ignore[assignment]  # makes `import psycopg` fail
    try:
        import django.db.backends.postgresql.base
        import django.db.backends.postgresql.psycopg_any  # noqa: F401
    finally:
        if saved is missing:
            del sys.modules["psycopg"]
        else:
            sys.modules["psycopg"] = saved  # type: ignore[assignment]

"""Secrets: with DEBUG off the app refuses to start without a real SECRET_KEY and a valid
BACKUP_ENCRYPTION_KEYS; nothing in the repository supplies either."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from backend.core.server_command import UvicornLaunch
from devtools.processes import free_port, production_secrets
from tenants_core.backup_crypto import generate_key

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = secrets.token_urlsafe(64)
GOOD_BACKUP_KEYS = generate_key("k1")


def _start(code: str, *, data_dir: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    """Load the settings in a fresh interpreter, with exactly these secrets."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"SECRET_KEY", "BACKUP_ENCRYPTION_KEYS", "DEBUG", "DATA_DIR"}
    }
    environment.update(
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="backend.settings",
        # Parsed only: nothing here connects to a database.
        DATABASE_URL="postgres://nobody@127.0.0.1:1/nothing",
        **({"DATA_DIR": str(data_dir)} if data_dir else {}),
        **env,
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


LOAD = "from django.conf import settings; print(settings.SECRET_KEY[:4])"


def _refused(result: subprocess.CompletedProcess, reason: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    assert reason in result.stderr, result.stderr[-2000:]


@pytest.mark.parametrize(
    ("secret_key", "reason"),
    [
        (None, "SECRET_KEY is required"),
        ("", "SECRET_KEY is required"),
        (secrets.token_urlsafe(64)[:49], "at least 50 characters"),
        ("change-me-in-production-please-0123456789", "at least 50 characters"),
        ("change-me-in-production-please-0123456789" + "abcdefghij", "placeholder"),
        ("django-insecure-" + secrets.token_urlsafe(48), "placeholder"),
        ("ab" * 40, "must not repeat"),
    ],
    ids=[
        "missing",
        "empty",
        "49 characters",
        "compose's old default",
        "placeholder",
        "django-insecure",
        "repetitive",
    ],
)
def test_without_debug_a_weak_or_missing_secret_key_refuses_to_start(secret_key, reason):
    env = {"DEBUG": "0", "BACKUP_ENCRYPTION_KEYS": GOOD_BACKUP_KEYS}
    if secret_key is not None:
        env["SECRET_KEY"] = secret_key
    _refused(_start(LOAD, **env), reason)


@pytest.mark.parametrize(
    ("backup_keys", "reason"),
    [
        (None, "BACKUP_ENCRYPTION_KEYS is required"),
        ("k1", "is not <key-id>:<base64 key>"),
        ("k1:not base64!", "exactly 32 bytes"),
        ("k1:" + "QUFBQQ==", "exactly 32 bytes"),  # 4 bytes
        (f"{GOOD_BACKUP_KEYS},{GOOD_BACKUP_KEYS}", "appears twice"),
        (":" + GOOD_BACKUP_KEYS.split(":")[1], "is not <key-id>:<base64 key>"),
    ],
    ids=["missing", "no key", "not base64", "too short", "duplicate id", "no id"],
)
def test_without_debug_a_missing_or_malformed_backup_key_refuses_to_start(backup_keys, reason):
    env = {"DEBUG": "0", "SECRET_KEY": GOOD_KEY}
    if backup_keys is not None:
        env["BACKUP_ENCRYPTION_KEYS"] = backup_keys
    result = _start(LOAD, **env)
    _refused(result, reason)
    # The refusal never prints key material.
    material = GOOD_BACKUP_KEYS.split(":")[1]
    assert material not in result.stderr


def test_without_debug_real_secrets_start():
    result = _start(LOAD, DEBUG="0", **production_secrets())
    assert result.returncode == 0, result.stderr[-2000:]


def test_uvicorn_refuses_to_serve_with_a_weak_secret_key():
    command = UvicornLaunch(trusted_proxies=(), port=free_port()).command()
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "DEBUG": "0", "SECRET_KEY": "short",
             "BACKUP_ENCRYPTION_KEYS": GOOD_BACKUP_KEYS, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert result.returncode != 0
    assert "SECRET_KEY must have at least 50 characters" in result.stderr


def test_in_development_both_secrets_are_generated_once_and_kept_private(tmp_path):
    show = (
        "from django.conf import settings; "
        "print(settings.SECRET_KEY); print(settings.BACKUP_ENCRYPTION_KEYS)"
    )
    first = _start(show, data_dir=tmp_path, DEBUG="1")
    assert first.returncode == 0, first.stderr[-2000:]
    second = _start(show, data_dir=tmp_path, DEBUG="1")
    assert first.stdout == second.stdout
    secret_key, backup_keys = first.stdout.split()
    assert len(secret_key) >= 50
    assert re.fullmatch(r"dev-[0-9a-f]{8}:[A-Za-z0-9+/]{43}=", backup_keys)
    assert backup_keys != secret_key
    for name in ("secret_key", "backup_keys"):
        assert (tmp_path / name).stat().st_mode & 0o077 == 0


def test_compose_requires_the_secrets_instead_of_defaulting_them():
    compose = (ROOT / "docker-compose.yml").read_text()
    for name in ("SECRET_KEY", "BACKUP_ENCRYPTION_KEYS"):
        line = next(line for line in compose.splitlines() if line.strip().startswith(f"{name}:"))
        assert f"${{{name}:?" in line, line
        assert ":-" not in line, line
    assert "change-me-in-production" not in compose


@pytest.mark.parametrize("token", ["x" * 31, "metrics-scrape-token-0123456789"])
def test_without_debug_a_short_metrics_token_refuses_to_start(token):
    result = _start(LOAD, DEBUG="0", **production_secrets(), METRICS_TOKEN=token)
    _refused(result, "METRICS_TOKEN must have at least 32 characters")


def test_without_debug_a_long_metrics_token_or_none_starts():
    for token in (secrets.token_urlsafe(32), ""):
        result = _start(LOAD, DEBUG="0", **production_secrets(), METRICS_TOKEN=token)
        assert result.returncode == 0, result.stderr[-2000:]


def test_with_debug_a_short_metrics_token_is_accepted():
    result = _start(LOAD, DEBUG="1", METRICS_TOKEN="short")
    assert result.returncode == 0, result.stderr[-2000:]

"""The model's settings are checked when the app starts: a wrong one stops it, instead of a
model that silently never answers."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import child_env


def settings_import(django_db_blocker: Any, **env: str) -> subprocess.CompletedProcess[str]:
    with django_db_blocker.unblock():
        environment = child_env(**env)
    return subprocess.run(
        [sys.executable, "-c", "import backend.settings as s; print(s.ASSISTANT_LLM_URL)"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"ASSISTANT_LLM_URL": "127.0.0.1:8089/v1"}, "must be an http:// or https:// URL"),
        ({"ASSISTANT_LLM_URL": "http://127.0.0.1:8089/v1"}, "ASSISTANT_LLM_MODEL is required"),
        ({"ASSISTANT_LLM_TIMEOUT_SECONDS": "0"}, "ASSISTANT_LLM_TIMEOUT_SECONDS must be"),
        ({"ASSISTANT_LLM_TIMEOUT_SECONDS": "600"}, "ASSISTANT_LLM_TIMEOUT_SECONDS must be"),
    ],
)
def test_a_wrong_model_setting_stops_the_start(
    django_db_blocker: Any, env: dict[str, str], problem: str
) -> None:
    result = settings_import(django_db_blocker, ASSISTANT_LLM_MODEL="", **env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert problem in result.stderr


def test_the_model_is_off_by_default_and_its_url_is_normalised(django_db_blocker: Any) -> None:
    off = settings_import(django_db_blocker, ASSISTANT_LLM_URL="", ASSISTANT_LLM_MODEL="")
    on = settings_import(
        django_db_blocker,
        ASSISTANT_LLM_URL=" https://llm.example/v1/ ",
        ASSISTANT_LLM_MODEL="gpt-4o-mini",
    )

    assert off.returncode == 0, off.stderr
    assert off.stdout.strip() == ""
    assert on.returncode == 0, on.stderr
    assert on.stdout.strip() == "https://llm.example/v1"

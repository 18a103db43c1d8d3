from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.assistant.llm.fake_llm import FakeLlm

LLM_KEY = "sk-test-" + "k3y" * 8  # a distinctive secret, searched for in logs and errors
LLM_MODEL = "fake-gpt-4o-mini"


@pytest.fixture
def fake_llm(settings: Any) -> Iterator[FakeLlm]:
    """A scripted chat-completions endpoint, and the assistant's settings pointed at it."""
    fake = FakeLlm(api_key=LLM_KEY, model=LLM_MODEL)
    fake.start()
    settings.ASSISTANT_LLM_URL = fake.base_url
    settings.ASSISTANT_LLM_MODEL = LLM_MODEL
    settings.ASSISTANT_LLM_API_KEY = LLM_KEY
    settings.ASSISTANT_LLM_TIMEOUT_SECONDS = 3.0
    yield fake
    fake.stop()

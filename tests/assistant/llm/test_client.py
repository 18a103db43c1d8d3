"""The chat-completions client against a local fake of the API: the request is the one OpenAI
documents, and every failure is one coded ``LlmUnavailable`` that never carries the key."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from backend.integrations.llm.client import (
    MAX_RESPONSE_BYTES,
    ChatResult,
    LlmClient,
    LlmErrorCode,
    LlmUnavailable,
    ToolCall,
)
from devtools.processes import free_port
from tests.assistant.llm.conftest import LLM_KEY, LLM_MODEL
from tests.assistant.llm.fake_llm import FakeLlm, call, calls, completion, text

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "price_list",
            "description": "Prices of the clinic's procedures.",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        },
    }
]
MESSAGES = [
    {"role": "system", "content": "Eres el asistente de la clínica."},
    {"role": "user", "content": "¿a cuánto está la limpieza?"},
]


def unavailable(code: LlmErrorCode) -> Any:
    return pytest.raises(LlmUnavailable, check=lambda error: error.code == code)


def test_chat_posts_model_messages_tools_and_the_bearer_key(fake_llm: FakeLlm) -> None:
    fake_llm.then(text("La limpieza cuesta S/ 80.00."))

    result = LlmClient.from_settings().chat(MESSAGES, TOOLS)

    assert result == ChatResult(text="La limpieza cuesta S/ 80.00.", tool_calls=())
    (sent,) = fake_llm.accepted()
    assert sent.method == "POST"
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {LLM_KEY}"
    assert sent.headers["content-type"] == "application/json"
    assert sent.json["model"] == LLM_MODEL
    assert sent.json["messages"] == MESSAGES
    assert sent.json["tools"] == TOOLS
    assert sent.json["tool_choice"] == "auto"


def test_chat_returns_tool_calls_with_parsed_arguments(fake_llm: FakeLlm) -> None:
    first, second = call("price_list", {"query": "limpieza"}), call("clinic_info")
    fake_llm.then(calls(first, second))

    result = LlmClient.from_settings().chat(MESSAGES, TOOLS)

    assert result.text == ""
    assert result.tool_calls == (
        ToolCall(id=first["id"], name="price_list", arguments={"query": "limpieza"}),
        ToolCall(id=second["id"], name="clinic_info", arguments={}),
    )


def test_tool_choice_none_and_no_tools(fake_llm: FakeLlm) -> None:
    fake_llm.then(text("Hola."), text("Hola otra vez."))
    client = LlmClient.from_settings()

    client.chat(MESSAGES, TOOLS, tool_choice="none")
    client.chat(MESSAGES)

    with_tools, without = fake_llm.requests()
    assert with_tools["tool_choice"] == "none"
    assert "tools" not in without
    assert "tool_choice" not in without


@pytest.mark.parametrize("arguments", ["{'query': 'limpieza'", "[1, 2]", '"limpieza"'])
def test_tool_arguments_that_are_not_a_json_object_are_unavailable(
    fake_llm: FakeLlm, arguments: str
) -> None:
    fake_llm.then(calls(call("price_list", arguments)))

    with unavailable(LlmErrorCode.BAD_TOOL_ARGUMENTS):
        LlmClient.from_settings().chat(MESSAGES, TOOLS)


@pytest.mark.parametrize("status", [500, 502, 429, 400])
def test_non_2xx_is_unavailable(fake_llm: FakeLlm, status: int) -> None:
    fake_llm.fail_next(status, {"error": {"message": "overloaded", "type": "server_error"}})

    with unavailable(LlmErrorCode.HTTP_STATUS) as raised:
        LlmClient.from_settings().chat(MESSAGES, TOOLS)

    assert str(status) in str(raised.value)


def test_wrong_key_is_unavailable_and_the_error_never_carries_a_key(
    fake_llm: FakeLlm, settings: Any
) -> None:
    settings.ASSISTANT_LLM_API_KEY = "sk-wrong-" + "x" * 20

    with unavailable(LlmErrorCode.HTTP_STATUS) as raised:
        LlmClient.from_settings().chat(MESSAGES, TOOLS)

    assert "401" in str(raised.value)
    assert "invalid_api_key" in str(raised.value)
    # the fake echoes the key's start like OpenAI; our error keeps the code only
    assert "sk-wr" not in str(raised.value)
    assert fake_llm.received[-1].status == 401


@pytest.mark.parametrize(
    "body",
    [
        b"<html>Bad gateway</html>",
        {"choices": []},
        {"choices": [{"message": "hola"}]},
        {"choices": [{"message": {"content": 42}}]},
        {"choices": [{"message": {"content": None, "tool_calls": [{"type": "function"}]}}]},
        {"choices": [{"message": {"content": None, "tool_calls": {"name": "x"}}}]},
    ],
)
def test_malformed_answers_are_unavailable(fake_llm: FakeLlm, body: Any) -> None:
    fake_llm.fail_next(200, body)

    with unavailable(LlmErrorCode.MALFORMED_RESPONSE):
        LlmClient.from_settings().chat(MESSAGES, TOOLS)


def test_an_oversized_answer_is_unavailable(fake_llm: FakeLlm) -> None:
    huge = completion(text("a" * MAX_RESPONSE_BYTES), LLM_MODEL)
    fake_llm.fail_next(200, huge)

    with unavailable(LlmErrorCode.MALFORMED_RESPONSE) as raised:
        LlmClient.from_settings().chat(MESSAGES, TOOLS)

    assert "too large" in str(raised.value)


def test_timeout_is_unavailable(fake_llm: FakeLlm, settings: Any) -> None:
    settings.ASSISTANT_LLM_TIMEOUT_SECONDS = 0.3
    fake_llm.fail_next(200, completion(text("tarde"), LLM_MODEL), delay=1.5)

    with unavailable(LlmErrorCode.TIMEOUT):
        LlmClient.from_settings().chat(MESSAGES, TOOLS)


def test_a_shorter_call_budget_wins_over_the_setting(fake_llm: FakeLlm) -> None:
    client = LlmClient.from_settings()
    with unavailable(LlmErrorCode.TIMEOUT):  # no time left: no request at all
        client.chat(MESSAGES, TOOLS, timeout_seconds=0)
    fake_llm.then(text("Hola."))
    assert client.chat(MESSAGES, TOOLS, timeout_seconds=1).text == "Hola."
    assert len(fake_llm.received) == 1

    fake_llm.fail_next(200, completion(text("tarde"), LLM_MODEL), delay=1.5)
    with unavailable(LlmErrorCode.TIMEOUT):
        client.chat(MESSAGES, TOOLS, timeout_seconds=0.3)


def test_unreachable_is_unavailable(settings: Any) -> None:
    settings.ASSISTANT_LLM_URL = f"http://127.0.0.1:{free_port()}/v1"  # nobody listens
    settings.ASSISTANT_LLM_MODEL, settings.ASSISTANT_LLM_API_KEY = LLM_MODEL, LLM_KEY

    with unavailable(LlmErrorCode.UNREACHABLE):
        LlmClient.from_settings().chat(MESSAGES, TOOLS)


def test_off_without_a_url(settings: Any) -> None:
    settings.ASSISTANT_LLM_URL = ""

    client = LlmClient.from_settings()

    assert not client.enabled
    with unavailable(LlmErrorCode.NOT_CONFIGURED):
        client.chat(MESSAGES, TOOLS)


def test_the_key_is_not_in_the_clients_repr_nor_in_any_log(
    fake_llm: FakeLlm, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore log every request at DEBUG
    fake_llm.then(text("Hola."))
    fake_llm.fail_next(500, {"error": {"message": f"key {LLM_KEY} failed", "type": "x"}})
    client = LlmClient.from_settings()

    with unavailable(LlmErrorCode.HTTP_STATUS) as raised:
        client.chat(MESSAGES, TOOLS)
    client.chat(MESSAGES, TOOLS)

    assert "HTTP Request: POST" in caplog.text  # the logs were captured
    assert LLM_KEY not in caplog.text
    assert LLM_KEY not in str(raised.value)
    assert LLM_KEY not in repr(raised.value)
    assert LLM_KEY not in repr(client)

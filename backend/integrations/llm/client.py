"""An OpenAI-compatible ``POST {ASSISTANT_LLM_URL}/chat/completions`` with function calling.

The client only talks: it sends the messages and the tool schemas, and returns the model's
text or the tool calls it asks for (their arguments parsed). Running the tools, and deciding
what the model may see, is the assistant's (``backend.assistant.llm``). Every failure (off,
unreachable, too slow, a non-2xx answer, a body that is not the documented shape, tool
arguments that are not a JSON object) is one ``LlmUnavailable`` with a code: the caller then
answers without the model, so the patient never sees an error of ours.

The API key is a secret: it goes in the ``Authorization`` header only; it is not in the
client's ``repr``, the exceptions or the logs (nor is any answer's body, which may echo it).

https://platform.openai.com/docs/api-reference/chat/create"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx
from django.conf import settings

from backend.integrations.errors import ProviderUnavailable
from backend.integrations.http import http_client

logger = logging.getLogger(__name__)

# A chat completion with a few tool calls is a few KB; a body past this is not one.
MAX_RESPONSE_BYTES = 1024 * 1024


class LlmErrorCode(StrEnum):
    NOT_CONFIGURED = "NOT_CONFIGURED"  # ASSISTANT_LLM_URL is empty
    TIMEOUT = "TIMEOUT"
    UNREACHABLE = "UNREACHABLE"
    HTTP_STATUS = "HTTP_STATUS"  # any non-2xx answer (401 bad key, 429, 5xx…)
    MALFORMED_RESPONSE = "MALFORMED_RESPONSE"  # not JSON, or not a chat completion
    BAD_TOOL_ARGUMENTS = "BAD_TOOL_ARGUMENTS"  # a tool call's arguments are not a JSON object


class LlmUnavailable(ProviderUnavailable):
    """The model gave no usable answer; ``code`` says why (``LlmErrorCode``)."""

    def __init__(self, code: LlmErrorCode, detail: str = "") -> None:
        super().__init__(f"{code.value}: {detail}" if detail else code.value)
        self.code = code


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ChatResult:
    """The model's answer: its ``text`` ("" when it only calls tools) and the ``tool_calls``
    it asks for, in order."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True)
class LlmClient:
    base_url: str  # e.g. https://api.openai.com/v1 or http://127.0.0.1:8089/v1
    model: str
    api_key: str = field(repr=False)
    timeout_seconds: float

    @classmethod
    def from_settings(cls) -> LlmClient:
        return cls(
            base_url=settings.ASSISTANT_LLM_URL.rstrip("/"),
            model=settings.ASSISTANT_LLM_MODEL,
            api_key=settings.ASSISTANT_LLM_API_KEY,
            timeout_seconds=settings.ASSISTANT_LLM_TIMEOUT_SECONDS,
        )

    @property
    def enabled(self) -> bool:
        return bool(self.base_url)

    def chat(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        *,
        tool_choice: str = "auto",
        timeout_seconds: float | None = None,
    ) -> ChatResult:
        """One chat completion. ``tools`` in the OpenAI format (``{"type": "function",
        "function": {"name", "description", "parameters"}}``); ``tool_choice`` "auto" or
        "none" (the model must answer in text). ``timeout_seconds`` (at most the client's)
        bounds the whole call, reading the answer included."""
        if not self.enabled:
            raise LlmUnavailable(LlmErrorCode.NOT_CONFIGURED)
        seconds = self.timeout_seconds
        if timeout_seconds is not None:
            seconds = min(timeout_seconds, seconds)
        if seconds <= 0:
            raise LlmUnavailable(LlmErrorCode.TIMEOUT, "no time left")
        payload: dict[str, Any] = {"model": self.model, "messages": messages}
        if tools:
            payload["tools"] = tools
            payload["tool_choice"] = tool_choice
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        status, body = self._post(f"{self.base_url}/chat/completions", payload, headers, seconds)
        if not 200 <= status < 300:
            raise LlmUnavailable(LlmErrorCode.HTTP_STATUS, f"answered {status}{_error_code(body)}")
        return _chat_result(body)

    def _post(
        self, url: str, payload: dict[str, Any], headers: dict[str, str], seconds: float
    ) -> tuple[int, bytes]:
        deadline = time.monotonic() + seconds
        try:
            with http_client().stream(
                "POST",
                url,
                content=json.dumps(payload, ensure_ascii=False).encode(),
                headers=headers,
                timeout=httpx.Timeout(seconds),
            ) as response:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise LlmUnavailable(LlmErrorCode.MALFORMED_RESPONSE, "answer too large")
                    if time.monotonic() > deadline:
                        raise LlmUnavailable(LlmErrorCode.TIMEOUT, "answer too slow")
                    chunks.append(chunk)
                return response.status_code, b"".join(chunks)
        except httpx.TimeoutException as error:
            raise LlmUnavailable(LlmErrorCode.TIMEOUT, type(error).__name__) from None
        except httpx.HTTPError as error:
            raise LlmUnavailable(LlmErrorCode.UNREACHABLE, type(error).__name__) from None


def _error_code(body: bytes) -> str:
    """OpenAI's ``{"error": {"code": …, "type": …}}``: its code or type only (the message may
    echo the key, masked or not)."""
    try:
        error = json.loads(body)["error"]
        code = error.get("code") or error.get("type")
    except (ValueError, KeyError, TypeError, AttributeError):
        return ""
    return f" ({str(code)[:40]})" if isinstance(code, str | int) and code else ""


def _chat_result(body: bytes) -> ChatResult:
    def malformed(detail: str) -> LlmUnavailable:
        return LlmUnavailable(LlmErrorCode.MALFORMED_RESPONSE, detail)

    try:
        document = json.loads(body)
    except ValueError:
        raise malformed("not JSON") from None
    try:
        message = document["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
        raise malformed("no choices[0].message") from None
    if not isinstance(message, dict):
        raise malformed("choices[0].message is not an object")
    text = message.get("content") or ""
    if not isinstance(text, str):
        raise malformed("content is not a string")
    raw_calls = message.get("tool_calls") or []
    if not isinstance(raw_calls, list):
        raise malformed("tool_calls is not a list")
    calls = []
    for index, raw in enumerate(raw_calls):
        try:
            function = raw["function"]
            name, arguments = function["name"], function.get("arguments") or "{}"
        except (KeyError, TypeError):
            raise malformed(f"tool_calls[{index}] has no function name") from None
        if not isinstance(name, str) or not isinstance(arguments, str | dict):
            raise malformed(f"tool_calls[{index}] is not a function call")
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except ValueError:
                raise LlmUnavailable(
                    LlmErrorCode.BAD_TOOL_ARGUMENTS, f"tool_calls[{index}] arguments: not JSON"
                ) from None
        if not isinstance(arguments, dict):
            raise LlmUnavailable(
                LlmErrorCode.BAD_TOOL_ARGUMENTS, f"tool_calls[{index}] arguments: not an object"
            )
        call_id = raw.get("id")
        calls.append(
            ToolCall(
                id=call_id if isinstance(call_id, str) and call_id else f"call_{index}",
                name=name,
                arguments=arguments,
            )
        )
    return ChatResult(text=text.strip(), tool_calls=tuple(calls))

"""A fake of an OpenAI-compatible ``POST /v1/chat/completions``, scripted per test.

It checks what the API documents (the bearer key, a JSON body with ``model`` and
``messages``, each message's role, tools as ``{"type": "function", "function": {...}}``, and
that every assistant message with ``tool_calls`` is followed by one ``tool`` message per call
id) and answers with the test's next scripted turn: a text, tool calls (their arguments as the
JSON string OpenAI sends, or any raw string a broken model sends), or a function of the
request. With nothing left in the script it answers 500."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

from tests.fakes.base import FakeServer, Received

PATH = "/v1/chat/completions"
ROLES = {"system", "user", "assistant", "tool"}

Turn = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]


def openai_error(message: str, *, kind: str = "invalid_request_error", code: Any = None) -> Any:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def text(content: str) -> dict[str, Any]:
    """A turn: the model answers in text."""
    return {"role": "assistant", "content": content}


def call(name: str, arguments: dict[str, Any] | str | None = None) -> dict[str, Any]:
    """One tool call; ``arguments`` a dict (sent as JSON text) or a raw string."""
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    return {
        "id": "call_" + secrets.token_hex(8),
        "type": "function",
        "function": {"name": name, "arguments": raw},
    }


def calls(*tool_calls: dict[str, Any]) -> dict[str, Any]:
    """A turn: the model asks for these tool calls."""
    return {"role": "assistant", "content": None, "tool_calls": list(tool_calls)}


def completion(message: dict[str, Any], model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-" + secrets.token_hex(12),
        "object": "chat.completion",
        "created": 1764547200,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


class FakeLlm(FakeServer):
    def __init__(self, *, api_key: str, model: str) -> None:
        super().__init__()
        self.api_key, self.model = api_key, model
        self.script: list[Turn] = []

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def then(self, *turns: Turn) -> FakeLlm:
        self.script.extend(turns)
        return self

    def requests(self) -> list[dict[str, Any]]:
        """The JSON bodies of the chat requests it answered with a 2xx, in order."""
        return [r.json for r in self.accepted()]

    def handle(self, received: Received) -> tuple[int, Any]:
        if received.method != "POST" or received.path != PATH:
            return 404, openai_error(f"Invalid URL ({received.method} {received.path})")
        if received.headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, openai_error(
                f"Incorrect API key provided: {received.headers.get('authorization', '')[7:12]}***",
                code="invalid_api_key",
            )
        try:
            body = json.loads(received.body)
        except ValueError:
            return 400, openai_error("We could not parse the JSON body of your request.")
        received.json = body
        problem = self._problem(body)
        if problem is not None:
            return 400, openai_error(problem)
        if not self.script:
            return 500, openai_error("The script has no turn left.", kind="server_error")
        turn = self.script.pop(0)
        message = turn(body) if callable(turn) else turn
        return 200, completion(message, self.model)

    def _problem(self, body: Any) -> str | None:
        if not isinstance(body, dict) or body.get("model") != self.model:
            return (
                f"The model `{body.get('model') if isinstance(body, dict) else ''}` does not exist"
            )
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return "'messages' must be a non-empty array"
        pending: set[str] = set()
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in ROLES:
                return f"messages[{index}].role is invalid"
            role = message["role"]
            if pending and role != "tool":
                return (
                    "An assistant message with 'tool_calls' must be followed by tool messages "
                    f"responding to each 'tool_call_id'. Missing: {sorted(pending)}"
                )
            if role == "tool":
                if message.get("tool_call_id") not in pending:
                    return f"messages[{index}]: a tool message must answer a pending tool call"
                pending.discard(message["tool_call_id"])
                if not isinstance(message.get("content"), str):
                    return f"messages[{index}].content must be a string"
            elif role == "assistant" and message.get("tool_calls"):
                pending = {c["id"] for c in message["tool_calls"]}
            elif not isinstance(message.get("content"), str):
                return f"messages[{index}].content must be a string"
        if pending:
            return "the last tool calls were not answered"
        tools = body.get("tools")
        if tools is not None:
            if not isinstance(tools, list):
                return "'tools' must be an array"
            for tool in tools:
                function = tool.get("function") if isinstance(tool, dict) else None
                if (
                    tool.get("type") != "function"
                    or not isinstance(function, dict)
                    or not isinstance(function.get("name"), str)
                    or not isinstance(function.get("parameters", {}), dict)
                ):
                    return "each tool must be {'type': 'function', 'function': {name, parameters}}"
            if body.get("tool_choice", "auto") not in {"auto", "none", "required"}:
                return "'tool_choice' must be auto, none or required"
        return None

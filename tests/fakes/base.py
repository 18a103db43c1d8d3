"""A threaded HTTP server on a free loopback port that records every request it receives and
can be told to fail: the common part of the provider fakes."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One request as the fake saw it, and what it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    answer: Any = None
    form: dict[str, str] = field(default_factory=dict)
    json: Any = None


@dataclass
class Fault:
    status: int = 500
    body: Any = None
    delay: float = 0.0  # seconds before answering (beyond the client's timeout: a timeout)


class FakeServer:
    """Subclasses implement ``handle(received) -> (status, json_body)``."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._serve(self)

            def do_POST(self) -> None:
                fake._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, status: int = 500, body: Any = None, *, delay: float = 0.0) -> None:
        """The next request gets ``status`` with ``body`` (after ``delay`` seconds)."""
        with self._lock:
            self._faults.append(Fault(status, body, delay))

    def handle(self, received: Received) -> tuple[int, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        received = Received(
            method=handler.command,
            path=handler.path,
            headers={name.lower(): value for name, value in handler.headers.items()},
            body=body,
        )
        with self._lock:
            fault = self._faults.pop(0) if self._faults else None
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            status, answer = fault.status, fault.body
        else:
            status, answer = self.handle(received)
        received.status, received.answer = status, answer
        with self._lock:
            self.received.append(received)
        payload = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            pass

    def accepted(self) -> list[Received]:
        """The requests it answered with a 2xx."""
        return [r for r in self.received if 200 <= r.status < 300]

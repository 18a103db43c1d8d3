"""A stand-in for an ingestion API on loopback (Sentry's envelopes, an OTLP/HTTP collector):
it keeps every body a server POSTs, decompressed, with its path, so that a test can read what
would leave the machine exactly as it was sent."""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PUBLIC_KEY = "0123456789abcdef0123456789abcdef"


@dataclass
class CaptureServer:
    port: int
    envelopes: list[bytes] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dsn(self) -> str:
        return f"http://{PUBLIC_KEY}@127.0.0.1:{self.port}/1"

    def wait_for(self, needle: bytes, timeout: float = 15.0) -> bytes:
        """The first envelope that contains ``needle``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for envelope in list(self.envelopes):
                if needle in envelope:
                    return envelope
            time.sleep(0.1)
        raise AssertionError(f"no envelope with {needle!r}: {self.envelopes!r}")


def _decoded(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    assert encoding in {"", "identity"}, encoding
    return body


@contextmanager
def running_capture_server() -> Iterator[CaptureServer]:
    received: list[bytes] = []
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            received.append(_decoded(body, self.headers.get("Content-Encoding", "")))
            paths.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield CaptureServer(port=server.server_address[1], envelopes=received, paths=paths)
    finally:
        server.shutdown()
        server.server_close()


def _value(any_value: Any) -> Any:
    return getattr(any_value, any_value.WhichOneof("value"))


def exported_spans(collector: CaptureServer) -> list[dict[str, Any]]:
    """Every span the collector received over OTLP/HTTP (``/v1/traces``), decoded: name, ids,
    kind, attributes, events and status."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    spans = []
    for body, path in zip(list(collector.envelopes), list(collector.paths), strict=True):
        assert path == "/v1/traces", path
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans.append(
                        {
                            "name": span.name,
                            "id": span.span_id.hex(),
                            "parent": span.parent_span_id.hex(),
                            "trace": span.trace_id.hex(),
                            "kind": span.kind,
                            "attributes": {a.key: _value(a.value) for a in span.attributes},
                            "events": [
                                (e.name, {a.key: _value(a.value) for a in e.attributes})
                                for e in span.events
                            ],
                            "status": (span.status.code, span.status.message),
                        }
                    )
    return spans

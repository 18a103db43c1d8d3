"""Child servers on loopback (uvicorn, PgBouncer) for the test suite and the benchmarks:
a free port, waiting until the child answers, and stopping it whatever happens."""

from __future__ import annotations

import contextlib
import secrets
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

from tenants_core.backup_crypto import generate_key


def production_secrets() -> dict[str, str]:
    """Fresh secrets for a child started with ``DEBUG`` off (tests, benchmarks): the settings
    refuse to start without a real ``SECRET_KEY`` and backup key."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(64),
        "BACKUP_ENCRYPTION_KEYS": generate_key("child"),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(
    process: subprocess.Popen[Any],
    ready: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    not_yet: tuple[type[BaseException], ...] = (OSError,),
    detail: Callable[[], str] = str,
) -> Iterator[None]:
    """Wait until ``ready()`` is true (raising one of ``not_yet`` counts as not yet), then
    yield; stop the process on the way out, also when it never became ready. ``detail()``
    adds to the error when it does not start (its log, say)."""
    try:
        deadline = time.monotonic() + timeout
        while not _answers(ready, not_yet):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start. {detail()}".strip())
            time.sleep(0.05)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(ready: Callable[[], bool], not_yet: tuple[type[BaseException], ...]) -> bool:
    try:
        return ready()
    except not_yet:  # refused, reset, timed out: not listening yet
        return False


def port_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), 0.2):
        return True

"""The uvicorn command line, built in one place for every launch: ``manage.py serve`` (the
Dockerfile's command), ``manage.py dev`` (``scripts/dev``), and the uvicorn that the tests and
the benchmarks start.

Client addresses behind a reverse proxy: uvicorn replaces the peer's address with the one in
``X-Forwarded-For`` only when the peer is trusted. Its own default trusts ``127.0.0.1,::1``
(or ``$FORWARDED_ALLOW_IPS``; uvicorn 0.54, ``uvicorn/config.py``, ``Config.__init__``), so
any local client could claim any address, and login throttling keys on that address. Every
launch here states the trusted proxies (``TRUSTED_PROXIES``) instead; with none, proxy headers
are off altogether. Of a trusted proxy's ``X-Forwarded-For`` uvicorn takes the right-most
address that is not itself a trusted proxy (``uvicorn/middleware/proxy_headers.py``,
``get_trusted_client_address``): the one the proxy appended, not one the client wrote.

Every launch leaves the proxies it told uvicorn to trust in the environment
(``LAUNCH_MARKER``), for the server's processes, its workers included. Outside DEBUG
``backend/asgi.py`` refuses to start without it (a bare ``uvicorn backend.asgi:application``),
or when it names a proxy that ``TRUSTED_PROXIES`` does not list.

How much one worker takes on (``ServerLimits``, from the ``WEB_*`` variables):

- **Requests in flight** (``WEB_CONCURRENCY_LIMIT``, default 20 per worker). Django runs each
  sync request under ASGI in a thread of its own (asgiref's ``ThreadSensitiveContext``: one
  single-thread executor per request, no shared pool that would bound them), and each thread
  holds its own database connection from its first query to the end of the request
  (``CONN_MAX_AGE=0``). So requests in flight are database connections, and nothing else bounds
  them: a burst would open as many as it has requests, until PostgreSQL refuses clients. The
  app counts them per worker (``backend.core.middleware.RequestConcurrencyLimit``) and answers
  the one over the limit at once with 503 ``SERVER_BUSY``, JSON with CORS headers and
  ``Retry-After``, as every other refusal, before it touches the database. Why 20: one worker
  is one interpreter lock; an agenda request costs ~50 ms of Python (docs/benchmarks.md), so
  20 in flight is about a second of queued work. Past that, waiting only holds connections
  and adds latency without adding throughput; a prompt 503 that the client retries is better.
- **uvicorn's own ``--limit-concurrency``**, a backstop at ``4 ×`` that: uvicorn counts open
  connections, idle keep-alive ones included (a proxy keeps a pool of them), and the arriving
  one itself, and answers over it with a bare ``text/plain`` 503 (no CORS, no code). It bounds
  sockets and tasks in a flood; the app's limit is the one clients meet.
- **Graceful shutdown** (``WEB_GRACEFUL_SHUTDOWN_SECONDS``, default 20): on SIGTERM uvicorn
  stops accepting, lets the requests in flight finish for that long, then cancels them. Less
  than Docker's ``stop_grace_period`` (30 s), after which the container is killed.
- **Keep-alive** (``WEB_KEEP_ALIVE_SECONDS``, default uvicorn's 5 s) and the listen
  **backlog** (``WEB_BACKLOG``, default uvicorn's 2048).

Every log line (uvicorn's supervisor's, which never loads Django, included) goes through the
project's formatter: the launch hands uvicorn ``log_context.logging_config`` as its
``log_config``, the same configuration as the settings' ``LOGGING``.

Nothing here imports Django's settings at import time: the settings module parses
``TRUSTED_PROXIES`` and the limits with it. ``python -m backend.core.server_command <uvicorn
arguments>`` is the child-process launch (``UvicornLaunch.command()``).
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from backend.core import log_context

ASGI_APPLICATION = "backend.asgi:application"
# Set by every launch below, read by backend/asgi.py: the proxies uvicorn trusts, comma-separated.
LAUNCH_MARKER = "DENTAL_UVICORN_TRUSTED_PROXIES"
# uvicorn's --limit-concurrency, per request the app lets in (see the module docstring).
CONNECTIONS_PER_REQUEST = 4


def _positive(environ: Mapping[str, str], name: str, default: int) -> int:
    value = (environ.get(name) or "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a whole number above 0, not {value!r}.")
    return int(value)


@dataclass(frozen=True)
class ServerLimits:
    """How much one uvicorn worker takes on and how it stops (the module docstring says why)."""

    requests: int = 20  # WEB_CONCURRENCY_LIMIT: in flight per worker = its DB connections
    graceful_shutdown_seconds: int = 20  # WEB_GRACEFUL_SHUTDOWN_SECONDS
    keep_alive_seconds: int = 5  # WEB_KEEP_ALIVE_SECONDS
    backlog: int = 2048  # WEB_BACKLOG

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ServerLimits:
        """From the ``WEB_*`` variables; ``ValueError`` names a bad one."""
        environ = os.environ if environ is None else environ
        return cls(
            requests=_positive(environ, "WEB_CONCURRENCY_LIMIT", cls.requests),
            graceful_shutdown_seconds=_positive(
                environ, "WEB_GRACEFUL_SHUTDOWN_SECONDS", cls.graceful_shutdown_seconds
            ),
            keep_alive_seconds=_positive(environ, "WEB_KEEP_ALIVE_SECONDS", cls.keep_alive_seconds),
            backlog=_positive(environ, "WEB_BACKLOG", cls.backlog),
        )

    @property
    def connections(self) -> int:
        """uvicorn's ``--limit-concurrency``: the backstop above the app's own limit."""
        return CONNECTIONS_PER_REQUEST * self.requests


def trusted_proxies_parse(value: str) -> list[str]:
    """``TRUSTED_PROXIES``: comma-separated IP addresses and networks (CIDR), normalised
    (``10.1.2.3/8`` becomes ``10.0.0.0/8``). Raises ``ValueError`` naming a bad item: uvicorn
    would take it for a literal that matches no peer, and say nothing."""
    proxies = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(
                f"{item!r} is not an IP address or network (CIDR, e.g. 10.0.0.0/8)."
            ) from None
        proxies.append(str(network.network_address) if network.num_addresses == 1 else str(network))
    return proxies


@dataclass(frozen=True)
class UvicornLaunch:
    """How this project runs uvicorn; ``args()`` is its command line."""

    trusted_proxies: Sequence[str]  # settings.TRUSTED_PROXIES, or the child's own
    port: int
    host: str = "127.0.0.1"
    workers: int = 1
    log_level: str = "info"
    access_log: bool = True
    # The WEB_* variables of this process; a child launched with other ones passes its own.
    limits: ServerLimits = field(default_factory=ServerLimits.from_environment)

    def args(self) -> list[str]:
        """uvicorn's arguments (what follows ``uvicorn``)."""
        args = [
            ASGI_APPLICATION,
            "--host", self.host,
            "--port", str(self.port),
            "--workers", str(self.workers),
            "--lifespan", "off",
            "--log-level", self.log_level,
            "--limit-concurrency", str(self.limits.connections),
            "--timeout-graceful-shutdown", str(self.limits.graceful_shutdown_seconds),
            "--timeout-keep-alive", str(self.limits.keep_alive_seconds),
            "--backlog", str(self.limits.backlog),
        ]  # fmt: skip
        if not self.access_log:
            args.append("--no-access-log")
        if self.trusted_proxies:
            proxies = ",".join(self.trusted_proxies)
            args += ["--proxy-headers", "--forwarded-allow-ips", proxies]
        else:
            args.append("--no-proxy-headers")
        return args

    def command(self) -> list[str]:
        """The command line of a uvicorn child process (this module, run as a program)."""
        return [sys.executable, "-m", "backend.core.server_command", *self.args()]

    def serve(self) -> None:
        """Serve in this process, with the same arguments; returns when uvicorn stops."""
        _uvicorn_main(self.args(), standalone=False)


def _trusted_in(args: Sequence[str]) -> str | None:
    """The proxies that uvicorn trusts with ``args`` (as ``UvicornLaunch.args()`` states them),
    or None when ``args`` leave it to uvicorn's defaults (which trust 127.0.0.1)."""
    headers = {"--proxy-headers", "--no-proxy-headers"} & set(args)
    if headers == {"--no-proxy-headers"}:
        return ""
    if headers == {"--proxy-headers"} and args.count("--forwarded-allow-ips") == 1:
        position = list(args).index("--forwarded-allow-ips") + 1
        return args[position] if position < len(args) else None
    return None


def _uvicorn_main(args: Sequence[str], *, standalone: bool) -> None:
    """Run uvicorn with ``args``, marked as launched here (its workers inherit the marker);
    arguments that leave the proxies to uvicorn's defaults get no marker. Its logging is the
    project's (``log_context.logging_config``), unless ``args`` name a ``--log-config`` file.
    ``standalone``: exit as ``python -m uvicorn`` would (a child process)."""
    import click
    from uvicorn.main import main as command  # the click command ``uvicorn``

    trusted = _trusted_in(args)
    if trusted is None:
        os.environ.pop(LAUNCH_MARKER, None)
    else:
        os.environ[LAUNCH_MARKER] = trusted
    # uvicorn's command line takes a log configuration only as a file; its ``run`` takes the
    # dict. So parse the command line as uvicorn does (click), then run it with the dict.
    try:
        with command.make_context("uvicorn", list(args)) as context:
            if context.params.get("log_config") is None:
                context.params["log_config"] = log_context.logging_config_from(os.environ)
            command.invoke(context)
    except click.ClickException as error:
        if not standalone:
            raise
        error.show()
        sys.exit(error.exit_code)


if __name__ == "__main__":
    _uvicorn_main(sys.argv[1:], standalone=True)

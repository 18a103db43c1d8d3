"""uvicorn on loopback, and the load generator that talks to it.

The load generator is a bounded asyncio client (httpx, keep-alive, ``concurrency`` requests
in flight). It shares the machine's cores with the server, exactly as wrk would; it costs more
CPU per request than wrk, but every endpoint pays the same, and the comparison is the ratio.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from backend.core.server_command import UvicornLaunch
from benchmarks.database import ROOT
from devtools.processes import free_port, production_secrets, serving

# The product's settings with the comparison endpoints mounted: for the measured server only.
BENCH_SETTINGS = "benchmarks.settings"
LOGIN = (
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) {"
    " __typename ... on AuthToken { token } ... on OperationInfo { messages { code } } } }"
)


def child_env(database_url: str, **extra: str) -> dict[str, str]:
    """Production settings (DEBUG off) on the benchmark's database."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DEBUG="0",
        **{name: os.environ.get(name) or value for name, value in production_secrets().items()},
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="backend.settings",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


@dataclass
class Server:
    port: int
    host: str  # the Host header of the measured clinic

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Host": f"{self.host}:{self.port}"}

    def login(self, email: str, password: str) -> str:
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": LOGIN, "variables": {"e": email, "p": password}},
            headers=self.headers,
            timeout=30,
        )
        payload = response.json()["data"]["login"]
        if payload["__typename"] != "AuthToken":
            raise RuntimeError(f"login refused: {payload}")
        return str(payload["token"])


@contextlib.contextmanager
def uvicorn(database_url: str, host: str) -> Iterator[Server]:
    """One uvicorn worker, DEBUG off, on a free loopback port; the benchmark's settings add
    the comparison endpoints to the product's URLs (``benchmarks/urls.py``)."""
    port = free_port()
    launch = UvicornLaunch(
        trusted_proxies=(), port=port, log_level="warning", access_log=False
    )  # the load generator talks to it directly
    process = subprocess.Popen(
        launch.command(),
        cwd=ROOT,
        env=child_env(database_url, DJANGO_SETTINGS_MODULE=BENCH_SETTINGS),
    )
    server = Server(port, host)
    with serving(
        process,
        lambda: httpx.get(f"{server.url}/healthz", headers=server.headers).status_code == 200,
        timeout=60,
        what="uvicorn",
        not_yet=(httpx.TransportError,),
    ):
        yield server


@dataclass(frozen=True)
class Request:
    """One HTTP request, sent again and again."""

    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, Any] | None = None
    json: Any = None


@dataclass
class Run:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


async def _load(server: Server, request: Request, count: int, concurrency: int) -> Run:
    run = Run()
    remaining = count
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                began = time.perf_counter()
                response = await client.request(
                    request.method,
                    request.path,
                    headers=request.headers,
                    params=request.params,
                    json=request.json,
                )
                await response.aread()
                run.latencies.append(time.perf_counter() - began)
                if response.status_code != 200:
                    raise RuntimeError(f"{request.path}: {response.status_code} {response.text}")

        # Open the connections first: the measured window is requests only.
        await asyncio.gather(
            *(client.get("/healthz", headers=request.headers) for _ in range(concurrency))
        )
        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        run.seconds = time.perf_counter() - began
    return run


def load(server: Server, request: Request, *, count: int, concurrency: int) -> Run:
    """``count`` requests, ``concurrency`` at a time; concurrency 1 measures latency."""
    return asyncio.run(_load(server, request, count, concurrency))

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

Nothing here imports Django's settings at import time: the settings module parses
``TRUSTED_PROXIES`` with it. ``python -m backend.core.server_command <uvicorn arguments>`` is
the child-process launch (``UvicornLaunch.command()``).
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

ASGI_APPLICATION = "backend.asgi:application"
# Set by every launch below, read by backend/asgi.py: the proxies uvicorn trusts, comma-separated.
LAUNCH_MARKER = "DENTAL_UVICORN_TRUSTED_PROXIES"


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

    def args(self) -> list[str]:
        """uvicorn's arguments (what follows ``uvicorn``)."""
        args = [
            ASGI_APPLICATION,
            "--host", self.host,
            "--port", str(self.port),
            "--workers", str(self.workers),
            "--lifespan", "off",
            "--log-level", self.log_level,
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
    arguments that leave the proxies to uvicorn's defaults get no marker.
    ``standalone``: exit as ``python -m uvicorn`` would (a child process)."""
    import uvicorn

    trusted = _trusted_in(args)
    if trusted is None:
        os.environ.pop(LAUNCH_MARKER, None)
    else:
        os.environ[LAUNCH_MARKER] = trusted
    uvicorn.main.main(args=list(args), prog_name="uvicorn", standalone_mode=standalone)


if __name__ == "__main__":
    _uvicorn_main(sys.argv[1:], standalone=True)

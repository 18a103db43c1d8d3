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

Nothing here imports Django's settings at import time: the settings module parses
``TRUSTED_PROXIES`` with it.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Sequence
from dataclasses import dataclass

ASGI_APPLICATION = "backend.asgi:application"


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
        """The command line of a uvicorn child process."""
        return [sys.executable, "-m", "uvicorn", *self.args()]

    def serve(self) -> None:
        """Serve in this process, with the same arguments; returns when uvicorn stops."""
        import uvicorn

        uvicorn.main.main(args=self.args(), prog_name="uvicorn", standalone_mode=False)

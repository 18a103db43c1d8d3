"""A real browser for tests: headless Chromium (Debian's package, which ``scripts/test``
installs through ``scripts/_debian_package.sh``) driven by playwright, and a server for the test's
own pages on another port. For what only a browser enforces: CORS, GraphiQL in a page.

Registered as a fixture module (``pytest_plugins = ["tests.browser"]``) by the tests that use
it. A test that needs Chromium fails, never skips, when it is missing.

- ``chromium`` (session): the browser. ``chromium.on_page(visit, screenshot="name")`` opens a
  fresh context (its own cookies, cache and preflight cache), runs ``visit(page)`` with a
  playwright ``Page``, keeps a screenshot in ``test-artifacts/`` (listed at the end of the
  run), and returns what ``visit`` returned with the page's console messages (the browser's
  own CORS refusals among them).
- ``page_server`` (session): serves ``tests/pages/`` on a free loopback port;
  ``page_server.url(host, "cors.html")`` is that page under any ``*.localhost`` name, which
  Chromium resolves to loopback by itself.

Playwright's sync API leaves its event loop marked as running in the thread that started it,
and Django then refuses ORM calls there (``SynchronousOnlyOperation``). So the browser lives
in a thread of its own, and ``visit`` runs in that thread: keep database work out of it.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import pytest

from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
# What works on these machines: root (so no sandbox), no GPU, no network but loopback. The
# profile is a fresh temporary --user-data-dir that playwright creates for every launch.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
ARTIFACTS = ROOT / "test-artifacts"
PAGES = Path(__file__).resolve().parent / "pages"
T = TypeVar("T")
_screenshots: list[Path] = []  # kept this session, listed at the end of the run


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _screenshots:
        terminalreporter.section("browser screenshots")
        for path in dict.fromkeys(_screenshots):
            terminalreporter.write_line(str(path))


def chromium_executable() -> str:
    found = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if not found:
        pytest.fail(
            "chromium is not installed: scripts/test installs it (apt-get install chromium).",
            pytrace=False,
        )
    return found


@dataclass
class Visit(Generic[T]):
    result: T
    console: list[str] = field(default_factory=list)  # "<type>: <text>", in order
    screenshot: Path | None = None


class Chromium:
    """One headless Chromium, used from its own thread (see the module's docstring)."""

    def __init__(self, executable: str) -> None:
        self._executable = executable
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium")
        self._playwright: Any = None
        self._browser: Any = None
        self._in_thread(self._start)

    def _in_thread(self, function: Callable[..., T], *args: Any) -> T:
        return self._thread.submit(function, *args).result()

    def _start(self) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=self._executable, args=list(CHROMIUM_FLAGS), timeout=60_000
        )

    def on_page(self, visit: Callable[[Any], T], *, screenshot: str | None = None) -> Visit[T]:
        """Run ``visit(page)`` on a fresh page in a fresh context. With ``screenshot``, the
        page is kept as ``test-artifacts/<screenshot>.png`` (also when ``visit`` fails), and
        its path listed at the end of the run."""
        return self._in_thread(self._visit, visit, screenshot)

    @staticmethod
    def keep_screenshot(page: Any, name: str) -> Path:
        """The page as it is now, kept as ``test-artifacts/<name>.png`` and listed at the end
        of the run: for a step in the middle of a visit (``screenshot=`` keeps the end)."""
        path = ARTIFACTS / f"{name}.png"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        _screenshots.append(path)
        return path

    def _visit(self, visit: Callable[[Any], T], screenshot: str | None) -> Visit[T]:
        context = self._browser.new_context()
        console: list[str] = []
        try:
            page = context.new_page()
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            path = ARTIFACTS / f"{screenshot}.png" if screenshot else None
            try:
                return Visit(visit(page), console, path)
            finally:
                if screenshot:
                    self.keep_screenshot(page, screenshot)
        finally:
            context.close()

    def close(self) -> None:
        def stop() -> None:
            try:
                if self._browser is not None:
                    self._browser.close()
            finally:
                if self._playwright is not None:
                    self._playwright.stop()

        try:
            self._in_thread(stop)
        finally:
            self._thread.shutdown()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    browser = Chromium(chromium_executable())
    try:
        yield browser
    finally:
        browser.close()


@dataclass(frozen=True)
class PageServer:
    port: int

    def url(self, host: str, page: str) -> str:
        return f"http://{host}:{self.port}/{page}"


class _QuietPages(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def page_server() -> Iterator[PageServer]:
    """``tests/pages/`` over HTTP on a free loopback port, for any Host."""
    handler = functools.partial(_QuietPages, directory=str(PAGES))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield PageServer(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

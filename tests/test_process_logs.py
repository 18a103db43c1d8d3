"""Every line a process of the product writes carries its time, level and logger, in the
``LOG_FORMAT`` asked for (issue 20: uvicorn's own lines had none): ``manage.py serve`` with its
uvicorn supervisor, workers and access log, and ``manage.py worker``. Real processes, read
from their first line to their last."""

from __future__ import annotations

import datetime as dt
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

import httpx
import pytest
from django.conf import settings

from devtools.processes import free_port, serving
from tests.conftest import ROOT, LiveServer, child_env, production_like_env

pytestmark = pytest.mark.slow

CLINIC_HOST = "clinica1.localhost"
TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
TEXT_LINE = re.compile(
    rf"^(?P<time>{TIME}) (?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) (?P<logger>[\w.]+) "
    r"request=\S+ clinic=\S+ user=\S+ operation=\S+ (?P<message>.*)$"
)


def _serve(env: dict[str, str], *, workers: int, requests: list[tuple[str, str]]) -> str:
    """Run ``manage.py serve`` until it answers, send ``requests`` (path, host), stop it with
    SIGTERM as Docker does, and return everything it wrote (stdout and stderr)."""
    server = LiveServer(free_port())
    command = [sys.executable, "manage.py", "serve", "--port", str(server.port),
               "--workers", str(workers)]  # fmt: skip
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        with serving(
            process,
            lambda: server.request("GET", "/healthz", settings.BASE_DOMAIN).status_code == 200,
            timeout=60,
            what="manage.py serve",
            not_yet=(httpx.TransportError,),
        ):
            for path, host in requests:
                server.request("GET", path, host)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        log.seek(0)
        return log.read().decode()


def _json_lines(output: str) -> list[dict[str, Any]]:
    lines = output.splitlines()
    assert lines, "nothing was written"
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}\n{output[-3000:]}")
        assert re.fullmatch(TIME, record["time"]), line
        assert record["level"] in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}, line
        assert record["logger"], line
        records.append(record)
    # Written as they happen: the times never go back by more than the workers' interleaving.
    times = [dt.datetime.fromisoformat(r["time"].replace("Z", "+00:00")) for r in records]
    assert times[-1] >= times[0]
    return records


def test_every_line_of_serve_is_json_with_time_level_and_logger(django_db_blocker):
    """Two workers: the supervisor (which never loads Django) writes lines too. A budget of
    2 × 50 connections against 100 − 20 reserved: the start warns."""
    with django_db_blocker.unblock():
        env = child_env(
            **production_like_env(), LOG_FORMAT="json", WEB_CONCURRENCY_LIMIT="50",
            DB_CONNECTIONS_RESERVED="20",
        )  # fmt: skip
    output = _serve(
        env, workers=2, requests=[("/healthz", CLINIC_HOST), ("/nothing", settings.BASE_DOMAIN)]
    )
    records = _json_lines(output)

    def messages(logger: str) -> list[str]:
        return [r["message"] for r in records if r["logger"] == logger]

    assert any(m.startswith("Started parent process") for m in messages("uvicorn.error"))
    assert any(m.startswith("Stopping parent process") for m in messages("uvicorn.error"))
    assert sum(m.startswith("Started server process") for m in messages("uvicorn.error")) == 2
    access = messages("uvicorn.access")
    assert any('"GET /healthz HTTP/1.1" 200' in m for m in access)
    assert any('"GET /nothing HTTP/1.1" 404' in m for m in access)
    # The access line carries the request's id and clinic like every other line.
    (clinic_line,) = [
        r for r in records if r["logger"] == "uvicorn.access" and r["clinic"] == "clinica1"
    ]
    assert clinic_line["request_id"] != "-"
    budget = [r for r in records if r["logger"] == "backend.serve"]
    assert budget[0]["level"] == "INFO"
    assert "2 worker(s) × 50 requests in flight" in budget[0]["message"]
    assert "= 100 database connections at most" in budget[0]["message"]
    (warning,) = [r for r in budget if r["level"] == "WARNING"]
    expected = "exceeds PostgreSQL's max_connections (100) minus the 20 reserved"
    assert expected in warning["message"]


def test_every_line_of_serve_is_text_with_time_level_and_logger(django_db_blocker):
    with django_db_blocker.unblock():
        env = child_env(**production_like_env(), LOG_FORMAT="text")
    output = _serve(env, workers=1, requests=[("/healthz", CLINIC_HOST)])
    lines = output.splitlines()
    assert lines
    unmatched = [line for line in lines if not TEXT_LINE.match(line)]
    assert unmatched == [], output[-3000:]
    loggers = {TEXT_LINE.match(line)["logger"] for line in lines}  # type: ignore[index]
    assert {"backend.serve", "uvicorn.error", "uvicorn.access"} <= loggers
    # 20 per worker by default: within PostgreSQL's 100 less 20 reserved, so no warning.
    assert not [line for line in lines if " WARNING " in line]


def test_every_line_of_the_job_worker_is_json(django_db_blocker):
    with django_db_blocker.unblock():
        env = child_env(**production_like_env(), LOG_FORMAT="json", JOB_POLL_SECONDS="0.2")
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "worker", "--name", "log-test"],
            cwd=ROOT, env=env, stdout=log, stderr=log,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while b"log-test" not in _read(log) and process.poll() is None:
                assert time.monotonic() < deadline, _read(log)[-3000:]
                time.sleep(0.1)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        output = _read(log).decode()
    records = _json_lines(output)
    assert any(r["logger"].startswith("procrastinate") for r in records), output[-3000:]


def _read(log: Any) -> bytes:
    log.seek(0)
    return bytes(log.read())

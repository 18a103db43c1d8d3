"""A real S3 API on loopback for the storage tests: moto's server (``moto_server``), started
once per test session on a free port and stopped at the end, like the PgBouncer tests start
PgBouncer (``tests/pgbouncer_support.py``).

moto comes with the test extras (``pyproject.toml``); ``scripts/test`` installs them when it
is missing. A test that needs S3 fails (it never skips) when moto cannot be imported or its
server does not start: CI must run the S3 tests.

Each test that stores on S3 gets a bucket of its own (``S3Server.bucket_new``), so what it
lists is what it made; the settings that point the app at it are those of ``FILE_STORAGE=s3``
(``S3Server.env`` for a child process such as uvicorn, ``S3Server.storages`` in process).
"""

from __future__ import annotations

import contextlib
import itertools
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.processes import free_port, serving

REGION = "us-east-1"
ACCESS_KEY_ID = "moto-test-key"
SECRET_ACCESS_KEY = "moto-test-secret"
_buckets = itertools.count(1)


def _boto3() -> Any:
    try:
        import boto3
        import moto.server  # noqa: F401  (the server's own imports: flask, werkzeug…)
    except ImportError as error:
        pytest.fail(
            f"moto[server] is not installed ({error}): scripts/test installs the test extras "
            '(pip install -c constraints.txt -e ".[dev]").',
            pytrace=False,
        )
    return boto3


@dataclass(frozen=True)
class S3Server:
    """moto's S3 on ``127.0.0.1:port``."""

    port: int

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> Any:
        """A boto3 client with the test credentials (the app's own, not an anonymous one)."""
        return _boto3().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )

    def bucket_new(self, prefix: str = "clinic-files") -> str:
        """A new, empty, private bucket (moto creates buckets private, like S3)."""
        name = f"{prefix}-{next(_buckets)}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key in ``bucket`` under ``prefix``, sorted."""
        paginator = self.client().get_paginator("list_objects_v2")
        found = []
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            found.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(found)

    def body(self, bucket: str, key: str) -> bytes:
        return self.client().get_object(Bucket=bucket, Key=key)["Body"].read()

    def env(self, bucket: str) -> dict[str, str]:
        """The environment of a process that stores its files in ``bucket`` (the README's
        ``FILE_STORAGE=s3`` configuration)."""
        return {
            "FILE_STORAGE": "s3",
            "S3_BUCKET": bucket,
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_REGION": REGION,
            "S3_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "S3_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        }

    def storages(self, bucket: str) -> dict[str, Any]:
        """``settings.STORAGES`` with the default storage ``backend.settings`` builds from
        ``env(bucket)``."""
        from django.conf import settings

        from backend.settings import file_storage

        default = file_storage(self.env(bucket), settings.MEDIA_ROOT)
        return {**settings.STORAGES, "default": default}


def _answers(server: S3Server) -> bool:
    # moto answers ListBuckets without credentials checks; any HTTP answer means it is up.
    return httpx.get(server.endpoint_url, timeout=1).status_code < 500


@contextlib.contextmanager
def running_moto_s3() -> Iterator[S3Server]:
    """moto's server on a free loopback port, stopped on the way out. Its log goes to a
    temporary file, shown when it does not start."""
    _boto3()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="moto-") as workdir:
        log_path = Path(workdir) / "moto.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
            )
            server = S3Server(port)
            with serving(
                process,
                lambda: _answers(server),
                timeout=60,
                what="moto_server",
                not_yet=(httpx.TransportError,),
                detail=lambda: log_path.read_text(errors="replace")[-2000:],
            ):
                yield server

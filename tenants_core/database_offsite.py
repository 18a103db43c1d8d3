"""Copies of the whole-database backups off the machine: an S3-compatible bucket
(``DATABASE_BACKUP_S3_*``, falling back to file storage's ``S3_*`` endpoint and credentials).

A copy counts only once it is checked: the object's size must be the file's, and its ETag the
one S3 computes from the bytes it received (the MD5 of the file, or of its parts' MD5s for a
multipart upload), computed here from the file on disk. Where the ETag is not an MD5 (a bucket
encrypted with SSE-KMS, some S3-compatible stores), the object is read back and its SHA-256
compared with the file's instead. The object also carries the file's SHA-256 as metadata
(``x-amz-meta-sha256``), for whoever downloads it to restore.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

# Parts of a multipart upload; s3transfer holds at most _CONCURRENCY of them in memory.
PART_SIZE = 16 * 1024 * 1024
_CONCURRENCY = 4
_READ = 1 << 20


class OffsiteError(Exception):
    """A copy off the machine could not be made, checked or deleted."""


@dataclass(frozen=True)
class OffsiteTarget:
    bucket: str
    prefix: str
    endpoint_url: str | None
    region_name: str | None
    access_key: str | None
    secret_key: str | None

    def key_for(self, file_name: str) -> str:
        return f"{self.prefix}{file_name}"

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region_name,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(
                connect_timeout=10,
                read_timeout=120,
                retries={"max_attempts": 5, "mode": "standard"},
            ),
        )


def offsite_target() -> OffsiteTarget | None:
    """The configured bucket (``settings.DATABASE_BACKUP_S3``), or None: no copy is made."""
    config = settings.DATABASE_BACKUP_S3
    return OffsiteTarget(**config) if config else None


def _errors() -> tuple[type[BaseException], ...]:
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    return (Boto3Error, BotoCoreError, ClientError, OSError)


def _describe(error: BaseException) -> str:
    """The S3 error's code and message when there is one (s3transfer wraps it in a longer
    sentence that repeats the paths), else the error."""
    from botocore.exceptions import ClientError

    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, ClientError):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, ClientError):
        details = cause.response.get("Error", {})
        return f"{details.get('Code', '?')}: {details.get('Message', '')} ({cause.operation_name})"
    return f"{type(error).__name__}: {error}"


def offsite_copy(target: OffsiteTarget, path: Path, key: str, *, size: int, sha256: str) -> None:
    """Upload ``path`` to ``key`` and check the bucket's object against it; ``OffsiteError``
    when either fails (the object, if any, is left: the next try overwrites it)."""
    from boto3.s3.transfer import TransferConfig

    client = target.client()
    config = TransferConfig(
        multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE, max_concurrency=_CONCURRENCY
    )
    try:
        if path.stat().st_size != size:
            raise OffsiteError(
                _("The backup file %(path)s is not the size recorded; it was not copied.")
                % {"path": path}
            )
        client.upload_file(
            str(path),
            target.bucket,
            key,
            ExtraArgs={"Metadata": {"sha256": sha256}, "ContentType": "application/octet-stream"},
            Config=config,
        )
        _check(client, target, path, key, size=size, sha256=sha256)
    except OffsiteError:
        raise
    except _errors() as error:
        raise OffsiteError(_describe(error)) from error


def _check(
    client: Any, target: OffsiteTarget, path: Path, key: str, *, size: int, sha256: str
) -> None:
    head = client.head_object(Bucket=target.bucket, Key=key)
    if head.get("ContentLength") != size:
        raise OffsiteError(
            _("The copy in the bucket has %(copy)s bytes, the file %(file)s.")
            % {"copy": head.get("ContentLength"), "file": size}
        )
    etag = str(head.get("ETag", "")).strip('"')
    if etag == expected_etag(path, size):
        return
    # Not an MD5 ETag (SSE-KMS, some S3-compatible stores): read the copy back.
    logger.info("%s: ETag %s is not the file's MD5; reading the copy back", target.url(key), etag)
    digest = hashlib.sha256()
    body = client.get_object(Bucket=target.bucket, Key=key)["Body"]
    try:
        while chunk := body.read(_READ):
            digest.update(chunk)
    finally:
        body.close()
    if digest.hexdigest() != sha256:
        raise OffsiteError(_("The copy in the bucket differs from the file (SHA-256)."))


def expected_etag(path: Path, size: int) -> str:
    """The ETag S3 gives ``path`` uploaded as ``offsite_copy`` uploads it: the MD5 of the file
    below the multipart threshold, else the MD5 of its parts' MD5s, ``-`` the number of parts
    (with the part size s3transfer settles on for this size)."""
    from s3transfer.utils import ChunksizeAdjuster

    if size < PART_SIZE:
        digest = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as file:
            while chunk := file.read(_READ):
                digest.update(chunk)
        return digest.hexdigest()
    part_size = ChunksizeAdjuster().adjust_chunksize(PART_SIZE, size)
    parts = []
    with path.open("rb") as file:
        while True:
            part = hashlib.md5(usedforsecurity=False)
            left = part_size
            while left and (chunk := file.read(min(_READ, left))):
                part.update(chunk)
                left -= len(chunk)
            if left == part_size:
                break
            parts.append(part.digest())
            if left:
                break
    return f"{hashlib.md5(b''.join(parts), usedforsecurity=False).hexdigest()}-{len(parts)}"


def offsite_delete(target: OffsiteTarget, key: str) -> None:
    try:
        target.client().delete_object(Bucket=target.bucket, Key=key)
    except _errors() as error:
        raise OffsiteError(_describe(error)) from error

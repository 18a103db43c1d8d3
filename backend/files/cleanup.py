"""Removing objects that no row names ("orphans"), so that storage holds nothing the database
does not account for.

A row and its object part ways in a few ways: ``file_store`` writes the object inside the
service's transaction, so a transaction that rolls back afterwards leaves the object without
its row; ``file_delete`` removes the object after commit, and a removal that fails (storage
down, a crash between the commit and the removal) leaves it behind; a failed restore, or a
clinic deleted with its schema, leaves a whole prefix. The periodic jobs of
``backend.files.tasks`` call the two sweeps below.

An object younger than ``FILE_ORPHAN_GRACE_SECONDS`` is never removed: its upload may still be
inside its transaction, its row not yet visible to the sweep.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.utils import timezone

from backend.files.models import StoredFile
from backend.files.storage import ROOT, clinic_prefix, current_schema
from tenants_core.models import Clinic

logger = logging.getLogger(__name__)

_BATCH = 500


def objects_under(prefix: str, storage: Storage | None = None) -> Iterator[tuple[str, dt.datetime]]:
    """Every object key under ``prefix`` (which ends with ``/``) with its last change, in one
    listing on S3, by walking the directories on the local disk."""
    storage = storage or default_storage
    bucket = getattr(storage, "bucket", None)
    if bucket is not None:  # django-storages' S3Storage: list the keys, with their times
        location = str(getattr(storage, "location", "") or "").strip("/")
        start = f"{location}/" if location else ""
        for item in bucket.objects.filter(Prefix=start + prefix):
            yield item.key[len(start) :], item.last_modified
        return
    try:
        directories, files = storage.listdir(prefix)
    except FileNotFoundError:
        return
    for name in files:
        key = prefix + name
        yield key, storage.get_modified_time(key)
    for directory in directories:
        yield from objects_under(f"{prefix}{directory}/", storage)


def _cutoff(now: dt.datetime | None) -> dt.datetime:
    return (now or timezone.now()) - dt.timedelta(seconds=settings.FILE_ORPHAN_GRACE_SECONDS)


def _remove(keys: list[str], why: str) -> None:
    for key in keys:
        try:
            default_storage.delete(key)
        except Exception:  # the next run tries again
            logger.exception("could not remove %s object %s", why, key)
        else:
            logger.info("removed %s object %s", why, key)


def orphans_remove(*, now: dt.datetime | None = None) -> list[str]:
    """Remove the current clinic's objects that no row names and that are older than the
    grace period; return their keys. Runs inside the clinic's transaction."""
    cutoff = _cutoff(now)
    old = [
        key for key, changed in objects_under(clinic_prefix(current_schema())) if changed < cutoff
    ]
    orphans: list[str] = []
    for start in range(0, len(old), _BATCH):
        batch = old[start : start + _BATCH]
        named = set(StoredFile.objects.filter(key__in=batch).values_list("key", flat=True))
        orphans.extend(key for key in batch if key not in named)
    _remove(orphans, "orphan")
    return orphans


def departed_clinics_sweep(*, now: dt.datetime | None = None) -> list[str]:
    """Remove the objects under the prefix of a schema that no clinic has any more (a clinic
    deleted with its schema, a restore that failed before its clinic existed), older than
    the grace period; return their keys. Reads only the public clinic table."""
    directories, _files = _top_level()
    if not directories:
        return []
    cutoff = _cutoff(now)
    known = set(Clinic.objects.values_list("schema_name", flat=True))
    removed: list[str] = []
    for schema in sorted(set(directories) - known):
        keys = [key for key, changed in objects_under(clinic_prefix(schema)) if changed < cutoff]
        _remove(keys, "departed clinic's")
        removed.extend(keys)
    return removed


def _top_level() -> tuple[list[str], list[str]]:
    try:
        return default_storage.listdir(f"{ROOT}/")
    except FileNotFoundError:
        return [], []

"""``migrate_schemas`` that skips current clinics and migrates the rest in parallel.

django-tenants' own command opens every clinic's schema and asks Django's migration executor
whether anything is left to apply: most of a second per clinic even when nothing is. Here a
clinic whose recorded ``migrations_fingerprint`` equals the code's is skipped with no query of
its own; the others are migrated by a pool of processes, and the template schema that new
clinics are cloned from is rebuilt when it is stale.

Targeted or unusual runs (an app label or migration name, ``--fake``, ``--fake-initial``,
``--prune``, ``--run-syncdb``, ``--plan``, ``--check``) are django-tenants' own, clinic by
clinic; afterwards the clinics they touched are marked for a full check on the next run.

Each schema migrates in one transaction, which carries the schema's search_path (see
``backend.core.db_backend``): a pooler in transaction mode cannot move half of a schema's
migrations elsewhere, and a failed migration leaves the schema as it was.

A run holds the migration lock (``tenants_core.migration_lock``) from start to end, so that
replicas started together migrate once: the others wait (saying for whom), at most
``--lock-timeout`` seconds, then find nothing left to do. Two kinds of run take no lock:
- ``--plan`` and ``--check`` write nothing. Waiting behind a deployment's migration would make
  a "are migrations pending?" probe hang for minutes, and its answer would be stale by the
  time it is read anyway.
- A run inside the caller's transaction (a clinic provisioned by migration rather than from the
  template, the template's rebuild, a test): what it migrates stays invisible to other
  processes until that transaction commits, so no other run can apply the same migrations to
  it; and waiting, on another connection, for a lock while the caller's transaction holds
  others is a wait that PostgreSQL's deadlock detector cannot see.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from django.core.management.base import CommandError
from django.db import connections, transaction
from django.utils.translation import gettext as _
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors import base as executors
from django_tenants.utils import get_public_schema_name, get_tenant_model, schema_exists

from backend.core.db_backend.connection import tenant_connection
from tenants_core import schema_template
from tenants_core.migration_lock import DEFAULT_TIMEOUT_SECONDS, Holder, migration_lock

# Options that make a run partial or not a real migration: the fingerprint cannot vouch for it.
_SPECIAL_OPTIONS = ("fake", "fake_initial", "prune", "run_syncdb", "plan", "check_unapplied")
_READ_ONLY_OPTIONS = ("plan", "check_unapplied")


class Command(MigrateSchemasCommand):
    help = (
        "Migrate the public schema, then every clinic whose migrations fingerprint is not the "
        "code's, in parallel, then the template schema new clinics are cloned from."
    )
    # The system checks run once, at the start of handle() (as in Django's own migrate), not
    # again for the public schema nor once per clinic.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument("--skip-checks", action="store_true", help="Skip system checks.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Migrate every clinic, even those whose fingerprint says they are current.",
        )
        parser.add_argument(
            "--jobs",
            type=int,
            # The CPUs this process may use (a container's limit, not the host's), at most 4:
            # each worker holds its own database connection.
            default=min(len(os.sched_getaffinity(0)), 4),
            help="Clinics migrated at the same time, each in its own process "
            "(default: the CPUs available, at most 4).",
        )
        parser.add_argument(
            "--lock-timeout",
            type=float,
            default=DEFAULT_TIMEOUT_SECONDS,
            metavar="SECONDS",
            help="How long to wait while another migration run holds the migration lock "
            f"before giving up, changing nothing (default: {DEFAULT_TIMEOUT_SECONDS:.0f}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        special = bool(options.get("app_label")) or any(options.get(o) for o in _SPECIAL_OPTIONS)
        if special:
            with self._migration_lock(options):
                self._handle_special(*args, **options)
            return
        if not options.get("skip_checks"):
            self.check(databases=[options["database"]])
        options["skip_checks"] = True
        with self._migration_lock(options):
            self._handle_all(*args, **options)

    @contextlib.contextmanager
    def _migration_lock(self, options: dict[str, Any]) -> Iterator[None]:
        """The migration lock for the run, except for the runs that take none (see the module
        docstring)."""
        database = options["database"]
        if any(options.get(o) for o in _READ_ONLY_OPTIONS) or (
            connections[database].in_atomic_block
        ):
            yield
            return
        waiting_since: list[float] = []

        def say_waiting(holders: list[Holder]) -> None:
            waiting_since.append(time.monotonic())
            self.stderr.write(
                _(
                    "Waiting for the migration lock held by %(holders)s: another migration "
                    "run is under way. This one goes on when it ends (giving up after "
                    "%(seconds).0f s: --lock-timeout)."
                )
                % {
                    "holders": ", ".join(str(holder) for holder in holders)
                    or _("a run that has just ended"),
                    "seconds": options["lock_timeout"],
                }
            )
            self.stderr.flush()

        with migration_lock(database, timeout=options["lock_timeout"], on_wait=say_waiting):
            if waiting_since and int(options["verbosity"]) >= 1:
                waited = time.monotonic() - waiting_since[0]
                self.stdout.write(f"took the migration lock after {waited:.1f} s")
            yield

    def _handle_all(self, *args: Any, **options: Any) -> None:
        # SyncCommon.handle: reads --shared/--tenant/--schema into sync_public, sync_tenant...
        super(MigrateSchemasCommand, self).handle(*args, **options)
        public = get_public_schema_name()
        fingerprint = schema_template.code_fingerprint()
        if self.sync_public and (not self.schema_name or self.schema_name == public):
            run_migrations(self.args, self.options, "standard", public)
        if not self.sync_tenant:
            return
        if self.schema_name and self.schema_name != public:
            self._migrate_one(self.schema_name, fingerprint)
            return
        self._migrate_clinics(fingerprint, force=options["force"], jobs=options["jobs"])
        if schema_template.template_refresh(
            force=options["force"], verbosity=int(options["verbosity"])
        ):
            self._say(f"template schema {schema_template.TEMPLATE_SCHEMA} rebuilt")

    def _migrate_one(self, schema_name: str, fingerprint: str) -> None:
        database = self.options.get("database")
        if not schema_exists(schema_name, database):
            raise CommandError(f'Schema "{schema_name}" does not exist')
        run_migrations(self.args, self.options, "standard", schema_name)
        schema_template.schema_fingerprint_record(schema_name, fingerprint)

    def _migrate_clinics(self, fingerprint: str, *, force: bool, jobs: int) -> None:
        rows = list(
            get_tenant_model()
            .objects.exclude(schema_name=get_public_schema_name())
            .order_by("schema_name")
            .values_list("schema_name", "migrations_fingerprint")
        )
        stale = [name for name, recorded in rows if force or recorded != fingerprint]
        skipped = len(rows) - len(stale)
        if stale:
            self._say(f"clinics to migrate: {len(stale)} of {len(rows)}")
        connection = connections[self.options["database"]]
        started = time.monotonic()
        if jobs > 1 and len(stale) > 1 and not connection.in_atomic_block:
            failures = self._migrate_in_pool(stale, fingerprint, jobs)
        else:
            # Inside a transaction (a test, a provisioning) other processes could not see
            # its uncommitted work: migrate here, one clinic after another.
            failures = self._migrate_here(stale, fingerprint)
        self._say(f"skipped {skipped} current clinics")
        if stale:
            self._say(
                f"migrated {len(stale) - len(failures)} clinics in "
                f"{time.monotonic() - started:.1f} s"
            )
        if failures:
            details = "; ".join(f"{name}: {error}" for name, error in failures)
            raise CommandError(f"{len(failures)} clinics failed to migrate: {details}")

    def _migrate_here(self, stale: list[str], fingerprint: str) -> list[tuple[str, str]]:
        failures: list[tuple[str, str]] = []
        for done, schema_name in enumerate(stale, start=1):
            try:
                _migrate_clinic(self.args, self.options, schema_name, fingerprint)
            except Exception as error:
                if connections[self.options["database"]].in_atomic_block:
                    raise
                failures.append((schema_name, str(error)))
            self._say(f"clinics migrated: {done}/{len(stale)}")
        return failures

    def _migrate_in_pool(
        self, stale: list[str], fingerprint: str, jobs: int
    ) -> list[tuple[str, str]]:
        # The children are forks: they inherit the loaded settings and app registry. No
        # connection may be open when they fork, or parent and children would share a socket.
        connections.close_all()
        options = {**self.options, "stdout": None, "stderr": None}
        failures: list[tuple[str, str]] = []
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=min(jobs, len(stale)), mp_context=context) as pool:
            futures = {
                pool.submit(_migrate_clinic, self.args, options, name, fingerprint): name
                for name in stale
            }
            for done, future in enumerate(as_completed(futures), start=1):
                error = future.exception()
                if error is not None:
                    failures.append((futures[future], str(error)))
                self._say(f"clinics migrated: {done}/{len(stale)}")
        return failures

    def _handle_special(self, *args: Any, **options: Any) -> None:
        public = get_public_schema_name()
        schema = options.get("schema_name")
        with_public = not options.get("tenant") and schema in (None, public)
        with_clinics = not options.get("shared") and schema != public
        if with_public:
            # Its migrations each in their own transaction (see run_migrations below).
            super().handle(*args, **{**options, "shared": True, "tenant": False})
        if with_clinics:
            with transaction.atomic(using=options["database"]):  # see run_migrations below
                super().handle(*args, **{**options, "shared": False, "tenant": True})
        if any(options.get(o) for o in _READ_ONLY_OPTIONS) or not self.sync_tenant:
            return
        clinics = get_tenant_model().objects.exclude(schema_name=get_public_schema_name())
        if self.schema_name:
            clinics = clinics.filter(schema_name=self.schema_name)
        clinics.update(migrations_fingerprint="")

    def _say(self, message: str) -> None:
        if int(self.options.get("verbosity", 1)) >= 1:
            self.stdout.write(message)
            self.stdout.flush()


def run_migrations(
    args: tuple[Any, ...], options: dict[str, Any], codename: str, schema_name: str, **kw: Any
) -> None:
    """django-tenants' ``run_migrations`` in one transaction: its migrations, its migration
    records and its introspection all see ``schema_name``'s path, set inside the transaction.
    (``run_migrations`` tries to commit and close the connection after migrating; inside a
    transaction it leaves both to us, by design: ``allow_atomic``.)"""
    if schema_name == get_public_schema_name():
        # Each migration in its own transaction, as Django's migrate does: the job queue's
        # migrations (procrastinate) add enum values that a later one uses, which PostgreSQL
        # allows only once the first has committed. The public schema is not a clinic's: its
        # path is the default one, whichever transaction a pooler picks.
        executors.run_migrations(args, options, codename, schema_name, **kw)
        return
    with transaction.atomic(using=options.get("database") or "default"):
        executors.run_migrations(args, options, codename, schema_name, allow_atomic=True, **kw)


def _migrate_clinic(
    args: tuple[Any, ...], options: dict[str, Any], schema_name: str, fingerprint: str
) -> None:
    """Migrate one clinic's schema and record the fingerprint (in this process or a child)."""
    options = {k: v for k, v in options.items() if k not in ("stdout", "stderr")}
    run_migrations(args, options, "parallel", schema_name)
    tenant_connection(options.get("database") or "default").set_schema_to_public()
    schema_template.schema_fingerprint_record(schema_name, fingerprint)

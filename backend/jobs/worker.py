"""Running a worker: ``manage.py worker`` (and ``manage.py dev``, which starts one).

The worker fetches jobs over its own psycopg 3 connections (procrastinate's
``PsycopgConnector``), built from Django's ``DATABASES``; the tasks it runs use Django's
connection (psycopg2) as any other code does, so a job deferred by a task commits or rolls back
with that task's transaction.

A worker outlives its database: when a connection fails (the server restarts, the network
drops), procrastinate stops the worker; this loop logs it, waits ``restart_pause`` seconds and
starts a new one, until it is told to stop (SIGTERM or SIGINT: the jobs in progress finish
first; a second signal stops at once, and those jobs run again elsewhere, at least once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg  # the worker's own connections only: Django keeps psycopg2
from django.conf import settings
from procrastinate import App, PsycopgConnector
from procrastinate.contrib.django import utils as django_utils
from procrastinate.periodic import PeriodicRegistry
from procrastinate.worker import Worker

from backend.jobs.runtime import app

logger = logging.getLogger("backend.jobs.worker")

# Connections beyond one per concurrent job: the listen/notify connection, the heartbeat, the
# periodic deferrer and the abort poller each take one at a time.
SIDE_CONNECTIONS = 4


@dataclass(frozen=True)
class WorkerSettings:
    queues: Sequence[str] | None = None  # None: every queue
    concurrency: int = 1
    burst: bool = False  # process what is due, then exit
    listen_notify: bool = True
    poll_seconds: float = 1.0
    stalled_seconds: float = 60.0
    restart_pause: float = 5.0
    shutdown_timeout: float | None = None  # None: wait for the jobs in progress
    name: str | None = None
    periodic: bool = True  # defer the periodic jobs when due (any number of workers may)
    stop_with_parent: bool = False  # stop when the process that started it is gone (dev)

    @classmethod
    def from_settings(cls, **overrides: Any) -> WorkerSettings:
        values: dict[str, Any] = {
            "concurrency": settings.JOB_CONCURRENCY,
            "listen_notify": settings.JOB_LISTEN_NOTIFY,
            "poll_seconds": settings.JOB_POLL_SECONDS,
            "stalled_seconds": settings.JOB_STALLED_SECONDS,
            "restart_pause": settings.JOB_RESTART_PAUSE_SECONDS,
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)

    @property
    def heartbeat_seconds(self) -> float:
        """Several heartbeats fit in the stalled timeout, so a live worker is never taken for
        dead because one heartbeat was late."""
        return max(min(10.0, self.stalled_seconds / 4), 0.5)


def connection_params() -> dict[str, Any]:
    """Django's connection parameters for psycopg 3 (``dbname``, ``options`` with the
    statement timeout, ``application_name``…: psycopg 3 takes them as Django states them)."""
    params = django_utils.connector_params("default")
    params["application_name"] = f"dental-worker:{os.getpid()}"
    return params


def worker_app(concurrency: int, *, periodic: bool = True) -> App:
    """An app that shares the tasks of ``app`` but fetches jobs through psycopg 3.

    The tasks stay bound to ``app`` (Django's connector), so a task that defers a job does it
    in its own transaction, not through the worker's pool."""
    connector = PsycopgConnector(
        kwargs=connection_params(),
        min_size=1,
        max_size=concurrency + SIDE_CONNECTIONS,
        timeout=10,
    )
    new = App(
        connector=connector, import_paths=app.import_paths, worker_defaults=app.worker_defaults
    )
    new.tasks = app.tasks
    # Without periodic tasks, this worker's deferrer has nothing to defer.
    new.periodic_registry = app.periodic_registry if periodic else PeriodicRegistry()
    return new


class WorkerLoop:
    """One worker at a time, started again after a database failure, until stopped."""

    def __init__(self, options: WorkerSettings) -> None:
        self.options = options
        self.stopping = False
        self.restarts = 0
        self._stop_event: asyncio.Event | None = None
        self._worker: Worker | None = None
        self._signals = 0

    def stop(self) -> None:
        self.stopping = True
        if self._stop_event is not None:
            self._stop_event.set()
        if self._worker is not None:
            self._worker.stop()

    def _on_signal(self, signum: int) -> None:
        self._signals += 1
        if self._signals > 1:
            logger.warning("Second stop signal: stopping now; unfinished jobs will run again.")
            os._exit(128 + signum)
        logger.info(
            "Worker received %s: stopping after the jobs in progress.",
            signal.Signals(signum).name,
        )
        self.stop()

    def _new_worker(self, job_app: App) -> Worker:
        options = self.options
        # procrastinate's defaults stand where ours are None (every queue, no name, no limit).
        optional: dict[str, Any] = {
            "queues": list(options.queues) if options.queues else None,
            "name": options.name,
            "shutdown_graceful_timeout": options.shutdown_timeout,
        }
        return job_app._worker(
            concurrency=options.concurrency,
            wait=not options.burst,
            fetch_job_polling_interval=options.poll_seconds,
            abort_job_polling_interval=max(options.poll_seconds, 1.0),
            listen_notify=options.listen_notify,
            install_signal_handlers=False,  # ours: see _on_signal
            update_heartbeat_interval=options.heartbeat_seconds,
            stalled_worker_timeout=options.stalled_seconds,
            **{key: value for key, value in optional.items() if value is not None},
        )

    async def _run_once(self) -> None:
        # A quick probe first: the pool would wait 30 s for a database that is down.
        probe = await psycopg.AsyncConnection.connect(**connection_params(), connect_timeout=5)
        await probe.close()
        job_app = worker_app(self.options.concurrency, periodic=self.options.periodic)
        async with job_app.open_async():
            self._worker = self._new_worker(job_app)
            try:
                if self.stopping:
                    return
                await self._worker.run()
            finally:
                self._worker = None

    async def _watch_parent(self) -> None:
        parent = os.getppid()
        while not self.stopping:
            await asyncio.sleep(1)
            if os.getppid() != parent:
                logger.warning("The process that started this worker is gone: stopping.")
                self.stop()

    async def run(self) -> int:
        """Run until stopped (or, in burst mode, until nothing is due). Returns an exit code."""
        loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self._on_signal, signum)
        watcher = (
            asyncio.create_task(self._watch_parent()) if self.options.stop_with_parent else None
        )
        try:
            while not self.stopping:
                try:
                    await self._run_once()
                except Exception as error:  # the database went away, most likely
                    if self.options.burst:
                        logger.error("Worker failed: %r", error.__cause__ or error, exc_info=True)
                        return 1
                    logger.error(
                        "Worker lost the database (%s: %s); starting again in %s s.",
                        type(error).__name__,
                        str(error).strip().splitlines()[0] if str(error).strip() else "",
                        self.options.restart_pause,
                    )
                else:
                    if self.options.burst or self.stopping:
                        break
                    # A side task (listener, heartbeat) failed and procrastinate stopped it.
                    logger.error(
                        "Worker stopped by itself; starting again in %s s.",
                        self.options.restart_pause,
                    )
                self.restarts += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop_event.wait(), self.options.restart_pause)
            return 0
        finally:
            if watcher is not None:
                watcher.cancel()
            for signum in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(signum)


def run_worker(options: WorkerSettings) -> int:
    return asyncio.run(WorkerLoop(options).run())

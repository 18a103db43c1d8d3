"""Transactions that lose a race: deadlocks and serialization failures.

PostgreSQL answers a deadlock (``40P01``) or a serialization failure (``40001``) by rolling
one transaction back. Nothing is wrong with the database: the same transaction, run again a
moment later, normally succeeds. psycopg2 reports both as ``TransactionRollbackError``, a
subclass of ``OperationalError``, which is also what a lost connection raises: hence
``database_unavailable``, the one test of "is the database down?" that the GraphQL errors and
the tenant middleware share, and which a transaction conflict never passes.

Services where concurrency matters use ``@atomic_service`` instead of ``@transaction.atomic``.
The outermost service of a call runs its block again after a conflict (a few attempts, with
jitter), and then gives up with a coded ``CONCURRENT_UPDATE`` refusal: never a 503 and, the
block being rolled back each time, never a partial write. Its block is a savepoint inside the
request's transaction (``request_transaction``, or ``clinic_context``), which holds no locks
of its own, or the transaction itself when there is none. A service called by another service
is plain ``transaction.atomic``: only the outermost one can run the work again. The services
first avoid the deadlocks themselves by taking their row locks in a fixed order (see
``backend/scheduling/services.py``); the retry is the safety net, and it is logged (one line
per attempt) so that a new deadlock shows up.
"""

from __future__ import annotations

import functools
import logging
import random
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from typing import ParamSpec, TypeVar

from django.core.exceptions import ValidationError
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

DEADLOCK = "40P01"
SERIALIZATION_FAILURE = "40001"
CONFLICT_SQLSTATES = frozenset({DEADLOCK, SERIALIZATION_FAILURE})

# Three runs in all; the pauses before the second and third are drawn from [0, 25 ms] and
# [0, 50 ms]: enough for the winner of the race to commit, short next to a request.
ATTEMPTS = 3
BASE_PAUSE_SECONDS = 0.025


class TransactionError(StrEnum):
    CONCURRENT_UPDATE = "CONCURRENT_UPDATE"
    """The write lost a race with another request and nothing was saved: send it again (HTTP 409
    outside GraphQL)."""


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a database error (Django's wrapper or the driver's own), if any."""
    return getattr(error, "pgcode", None) or getattr(error.__cause__, "pgcode", None)


def is_transaction_conflict(error: BaseException) -> bool:
    """A deadlock or a serialization failure: this transaction lost a race and was rolled
    back. Running it again may succeed; the database is fine."""
    return isinstance(error, DatabaseError) and sqlstate(error) in CONFLICT_SQLSTATES


def database_unavailable(error: BaseException) -> bool:
    """The database cannot serve: the connection is lost or the server is down or shutting
    down (``OperationalError``, ``InterfaceError``). A transaction conflict is an
    ``OperationalError`` too, but it is a race between clients, not an outage."""
    return isinstance(error, OperationalError | InterfaceError) and not is_transaction_conflict(
        error
    )


def conflict_refusal() -> ValidationError:
    """What a client gets when its transaction kept losing races: nothing was saved."""
    return ValidationError(
        _("Other changes to the same records got in the way and nothing was saved. Try again."),
        code=TransactionError.CONCURRENT_UPDATE,
    )


_services = threading.local()


def atomic_service(func: Callable[P, R]) -> Callable[P, R]:
    """``@transaction.atomic`` that, as the outermost service, runs its block again after a
    deadlock or a serialization failure (``ATTEMPTS`` runs in all, with jitter) and then
    refuses with ``CONCURRENT_UPDATE``.

    Inside a transaction (the request's) the block is a savepoint: PostgreSQL rolls back to it
    after the conflict and releases what the block locked, and the schema the transaction set
    stays. The function runs from the start each time, with the arguments it was called with:
    a service must not change the objects it is given (it re-reads what it locks)."""

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if getattr(_services, "depth", 0):
            # Another service's block: a conflict rolls that one back, and only it can run
            # the work again.
            with transaction.atomic():
                return func(*args, **kwargs)
        attempt = 1
        _services.depth = 1
        try:
            while True:
                try:
                    with transaction.atomic():
                        return func(*args, **kwargs)
                except DatabaseError as error:
                    if not is_transaction_conflict(error):
                        raise
                    last = attempt >= ATTEMPTS
                    logger.warning(
                        "%s lost a race (SQLSTATE %s), attempt %d of %d; %s",
                        func.__qualname__,
                        sqlstate(error),
                        attempt,
                        ATTEMPTS,
                        "refused" if last else "running it again",
                    )
                    if last:
                        raise conflict_refusal() from error
                time.sleep(random.uniform(0, BASE_PAUSE_SECONDS * 2 ** (attempt - 1)))
                attempt += 1
        finally:
            _services.depth = 0

    return run

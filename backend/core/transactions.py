"""Transactions that lose a race: deadlocks and serialization failures.

PostgreSQL answers a deadlock (``40P01``) or a serialization failure (``40001``) by rolling
one transaction back. Nothing is wrong with the database: the same transaction, run again a
moment later, normally succeeds. psycopg2 reports both as ``TransactionRollbackError``, a
subclass of ``OperationalError``, which is also what a lost connection raises: hence
``database_unavailable``, the one test of "is the database down?" that the GraphQL errors and
the tenant middleware share, and which a transaction conflict never passes.

Services where concurrency matters use ``@atomic_service`` instead of ``@transaction.atomic``.
When the service is the outermost atomic block it runs the whole transaction again after a
conflict (a few attempts, with jitter), and then gives up with a coded ``CONCURRENT_UPDATE``
refusal: never a 503 and, the transaction being rolled back each time, never a partial write.
Inside someone else's transaction it is plain ``transaction.atomic``: only the owner of the
transaction can run it again. The services first avoid the deadlocks themselves by taking
their row locks in a fixed order (see ``backend/scheduling/services.py``); the retry is the
safety net, and it is logged (one line per attempt) so that a new deadlock shows up.
"""

from __future__ import annotations

import functools
import logging
import random
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


def atomic_service(func: Callable[P, R]) -> Callable[P, R]:
    """``@transaction.atomic`` that, as the outermost block, runs the whole transaction again
    after a deadlock or a serialization failure (``ATTEMPTS`` runs in all, with jitter) and
    then refuses with ``CONCURRENT_UPDATE``.

    The function runs from the start each time, with the arguments it was called with: a
    service must not change the objects it is given (it re-reads what it locks). After the
    rollback django-tenants has forgotten the session's search_path, and the next statement
    sets it again from ``connection.tenant``: the retry runs in the same clinic's schema."""

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if transaction.get_connection().in_atomic_block:
            # Someone else's transaction: a conflict has already rolled it back (or will),
            # and only its owner can run it again.
            with transaction.atomic():
                return func(*args, **kwargs)
        attempt = 1
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

    return run

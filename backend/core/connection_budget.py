"""The web tier's database connections, said at start by ``manage.py serve``: every uvicorn
worker may hold ``WEB_CONCURRENCY_LIMIT`` connections at once (one per request in flight,
``backend/core/server_command.py``), so one server holds at most workers × that. A warning
when that would eat into the connections PostgreSQL keeps for everything else
(``DB_CONNECTIONS_RESERVED``): under load, requests would then fail with "too many clients"
instead of a prompt 503. docs/scaling.md ("Sizing connections") has the whole rule."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import connections

logger = logging.getLogger("backend.serve")


@dataclass(frozen=True)
class ConnectionBudget:
    workers: int
    per_worker: int  # WEB_CONCURRENCY_LIMIT
    reserved: int  # DB_CONNECTIONS_RESERVED

    @property
    def total(self) -> int:
        return self.workers * self.per_worker

    def exceeds(self, max_connections: int) -> bool:
        return self.total > max_connections - self.reserved


def max_connections() -> int | None:
    """The server's ``max_connections``, or None when it cannot be read (logged: the start goes
    on; the workers' own first connection says what is wrong with the database)."""
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW max_connections")
            row = cursor.fetchone()
        return int(row[0])
    except Exception as error:  # a report, never a reason not to start
        logger.warning("Could not read PostgreSQL's max_connections: %s", error)
        return None
    finally:
        connection.close()


def connection_budget_report(budget: ConnectionBudget) -> None:
    """Log the budget, and warn when PostgreSQL's ``max_connections`` cannot hold it."""
    logger.info(
        "Connection budget: %d worker(s) × %d requests in flight (WEB_CONCURRENCY_LIMIT) = %d"
        " database connections at most",
        budget.workers, budget.per_worker, budget.total,
    )  # fmt: skip
    limit = max_connections()
    if limit is None or not budget.exceeds(limit):
        return
    logger.warning(
        "The connection budget (%d) exceeds PostgreSQL's max_connections (%d) minus the %d"
        " reserved for job workers, migrations and operators (DB_CONNECTIONS_RESERVED): under"
        " load, requests would fail with 'too many clients'. Lower WEB_CONCURRENCY or"
        " WEB_CONCURRENCY_LIMIT, raise max_connections, or pool through PgBouncer"
        " (docs/scaling.md, Sizing connections). Behind PgBouncer, compare with its"
        " max_client_conn instead.",
        budget.total, limit, budget.reserved,
    )  # fmt: skip

"""Gauges read from PostgreSQL at scrape time, in one statement: the job queue (procrastinate's
table, written by the workers, which are other processes), the database's connections, and
when the last whole-database backup was made and copied off the machine (the worker's job).

Public tables and server views only: the scrape never selects a clinic's schema.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import DatabaseError, connection, transaction
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

# Jobs by queue and status (todo and doing: the queue's depth; succeeded, failed, cancelled,
# aborted: the outcomes of the jobs the table still holds), this database's connections by
# state, the server's connection limit, and the newest whole-database backup made and copied
# (epoch seconds, 0 for none). The kind tells the rows apart.
SNAPSHOT_SQL = """
SELECT 'job', queue_name, status::text, count(*) FROM public.procrastinate_jobs
 GROUP BY queue_name, status
UNION ALL
SELECT 'connection', coalesce(state, 'unknown'), '', count(*) FROM pg_stat_activity
 WHERE datname = current_database() AND backend_type = 'client backend'
 GROUP BY state
UNION ALL
SELECT 'max_connections', '', '', current_setting('max_connections')::bigint
UNION ALL
SELECT 'database_backup', 'made', '',
       coalesce(floor(extract(epoch FROM max(finished_at))), 0)::bigint
  FROM public.tenants_core_databasebackup WHERE status = 'done'
UNION ALL
SELECT 'database_backup', 'copied', '',
       coalesce(floor(extract(epoch FROM max(offsite_copied_at))), 0)::bigint
  FROM public.tenants_core_databasebackup
"""
# Always exposed per queue seen, so that an alert on depth sees 0 rather than no series.
DEPTH_STATUSES = ("todo", "doing")


def snapshot() -> list[tuple[str, str, str, int]]:
    """The rows of ``SNAPSHOT_SQL``, read in the public schema."""
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(SNAPSHOT_SQL)
        return [(kind, a, b, int(n)) for kind, a, b, n in cursor.fetchall()]


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "dental_metrics_database_up", "1 when the scrape could read the database."
        )
        try:
            rows = snapshot()
        except DatabaseError:
            logger.warning("metrics: the database could not be read", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        jobs = GaugeMetricFamily(
            "dental_jobs",
            "Jobs in procrastinate's table by queue and status: todo and doing are the "
            "queue's depth; succeeded, failed, cancelled and aborted are outcomes.",
            labels=["queue", "status"],
        )
        connections = GaugeMetricFamily(
            "dental_db_connections",
            "Client connections to this database, by state (pg_stat_activity).",
            labels=["state"],
        )
        limit = GaugeMetricFamily("dental_db_max_connections", "The server's max_connections.")
        backups = GaugeMetricFamily(
            "dental_database_backup_last_timestamp_seconds",
            "When the newest whole-database backup was made (what=made) and the newest one was "
            "copied off the machine and checked (what=copied); 0: never. Alert on its age.",
            labels=["what"],
        )
        counts: dict[tuple[str, str], int] = {}
        for kind, first, second, count in rows:
            if kind == "job":
                counts[(first, second)] = count
                for status in DEPTH_STATUSES:
                    counts.setdefault((first, status), 0)
            elif kind == "connection":
                connections.add_metric([first], count)
            elif kind == "database_backup":
                backups.add_metric([first], count)
            else:
                limit.add_metric([], count)
        for (queue, status), count in sorted(counts.items()):
            jobs.add_metric([queue, status], count)
        yield jobs
        yield connections
        yield limit
        yield backups

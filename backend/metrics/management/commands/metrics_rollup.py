"""``manage.py metrics_rollup [--day YYYY-MM-DD] [--days N] [--restart]``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.metrics.rollup import due_days, rollup_run


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"--day: not a date (YYYY-MM-DD): {value!r}") from error


class Command(BaseCommand):
    help = (
        "Roll up the per-clinic daily metrics: by default each clinic's local yesterday and "
        "today; --day D, and --days N for the N days ending on D (or today). An unfinished run "
        "of a day resumes from its cursor unless --restart."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--day", type=_day, help="The (last) local day, YYYY-MM-DD.")
        parser.add_argument("--days", type=int, default=1, help="Days ending on --day.")
        parser.add_argument("--restart", action="store_true", help="Do not resume; start again.")

    def handle(self, *args: Any, day: dt.date | None, days: int, restart: bool, **options: Any):
        if days < 1 or days > 3660:
            raise CommandError("--days: between 1 and 3660.")
        if day is None and days == 1:
            chosen = due_days()
        else:
            last = day or max(due_days())
            chosen = [last - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]
        for each in chosen:
            result = rollup_run(day=each, restart=restart)
            self.stdout.write(
                f"{each}: {len(result.clinic_ids)} clinics rolled up"
                f"{' (resumed)' if result.resumed else ''}"
            )

"""Medians and percentiles (nearest rank) of samples."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else math.nan


def p95(values: Sequence[float]) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)])


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 2) if denominator else math.nan

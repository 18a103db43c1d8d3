"""Reads measured side by side: GraphQL against hand-written references, in one run, on one
server, in rounds that rotate the endpoints' order, after checking that every reference
answers exactly what GraphQL answers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from benchmarks.server import Request, Server, load
from benchmarks.stats import median, ms, p95


def same_content(
    server: Server, requests: dict[str, Request], rows: tuple[str, ...] = ("appointments", "edges")
) -> int:
    """Every endpoint answers the same JSON as GraphQL (keys in the same order too); returns
    how many items ``data`` holds at the path ``rows``."""
    import httpx

    bodies = {}
    for name, request in requests.items():
        response = httpx.request(
            request.method,
            f"{server.url}{request.path}",
            headers=request.headers,
            params=request.params,
            json=request.json,
            timeout=30,
        )
        if response.status_code != 200:
            raise RuntimeError(f"{name}: {response.status_code} {response.text[:500]}")
        bodies[name] = response.json()
    reference = bodies["graphql"]
    if "errors" in reference:
        raise RuntimeError(f"graphql: {reference['errors']}")
    for name, body in bodies.items():
        # Serialized again, so that the order of the keys counts, and not the spacing.
        if json.dumps(body) != json.dumps(reference):
            raise AssertionError(
                f"{requests[name].path}: {name} does not answer what GraphQL answers"
            )
    found = reference["data"]
    for key in rows:
        found = found[key]
    return len(found)


@dataclass(frozen=True)
class Comparison:
    """One read measured against its references: ``requests`` holds ``graphql`` and them."""

    requests: dict[str, Request]
    rows: tuple[str, ...]  # what same_content counts
    per_round: int


def side_by_side(
    server: Server, comparisons: dict[str, Comparison], *, rounds: int, concurrency: int
) -> dict[str, Any]:
    """Rounds in which every endpoint of every comparison gets its ``per_round`` requests,
    so that all of them see the same machine at the same time. Each round rotates the order
    of the comparisons and, within each, the order of its endpoints: a reference always runs
    next to its GraphQL query, and none always goes first. Per comparison: each endpoint's
    throughput and latency, and GraphQL's throughput over each reference's, round by round."""
    rows = {}
    for read, comparison in comparisons.items():
        rows[read] = same_content(server, comparison.requests, comparison.rows)
        for request in comparison.requests.values():  # warm: imports, routing cache, plans
            load(server, request, count=max(20, comparison.per_round // 5), concurrency=concurrency)
    runs: dict[str, dict[str, list[Any]]] = {
        read: {name: [] for name in comparison.requests} for read, comparison in comparisons.items()
    }
    for index in range(rounds):
        for read in _rotated(list(comparisons), index):
            comparison = comparisons[read]
            for name in _rotated(list(comparison.requests), index):
                runs[read][name].append(
                    load(
                        server,
                        comparison.requests[name],
                        count=comparison.per_round,
                        concurrency=concurrency,
                    )
                )
    result: dict[str, Any] = {}
    for read, comparison in comparisons.items():
        figures: dict[str, Any] = {
            "rows": rows[read],
            "requests_per_round": comparison.per_round,
            "endpoints": {},
        }
        for name in comparison.requests:
            name_runs = runs[read][name]
            latencies = [latency for run in name_runs for latency in run.latencies]
            figures["endpoints"][name] = {
                "rps_median": round(median([run.throughput for run in name_runs]), 1),
                "rps_p95": round(p95([run.throughput for run in name_runs]), 1),
                "latency_p50_ms": ms(median(latencies)),
                "latency_p95_ms": ms(p95(latencies)),
            }
        for reference in list(comparison.requests)[1:]:
            per_round_ratios = [
                ours.throughput / theirs.throughput
                for ours, theirs in zip(runs[read]["graphql"], runs[read][reference], strict=True)
            ]
            figures[f"graphql_vs_{reference}"] = {
                "throughput_ratio_median": round(median(per_round_ratios), 2),
                "throughput_ratio_p95": round(p95(per_round_ratios), 2),
            }
        result[read] = figures
    return result


def _rotated(names: list[str], turn: int) -> list[str]:
    turn %= len(names)
    return names[turn:] + names[:turn]

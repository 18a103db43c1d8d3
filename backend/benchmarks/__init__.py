"""The benchmark suite (``scripts/bench``, ``python -m backend.benchmarks``).

A plain package, not an installed app: it builds a fixed, seeded data set in a database of its
own (``dental_bench``), serves it with uvicorn on loopback, measures side by side and writes a
markdown table, a JSON file in ``bench-results/`` and ``docs/benchmarks.md``. The comparison
endpoints in ``views.py`` are mounted only when ``BENCH_ENDPOINTS`` is on.
"""

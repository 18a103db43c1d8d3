"""The benchmark suite (``scripts/bench``, ``python -m benchmarks``).

A top-level package of the checkout, never installed with the product (``pyproject.toml``
ships ``backend``, ``tenants_core`` and ``graphql_api`` only) and never imported by it. It
builds a fixed, seeded data set in a database of its own (``dental_bench``), serves it with
uvicorn on loopback, measures side by side and writes a markdown table, a JSON file in
``bench-results/`` and ``docs/benchmarks.md``.

The comparison endpoints (``views.py``) are mounted by ``urls.py``, the product's URLs plus
them, which only the benchmark's own uvicorn serves (``settings.py``, chosen by its
``DJANGO_SETTINGS_MODULE``). The product's URLconf has no way to mount them, whatever the
environment says.
"""

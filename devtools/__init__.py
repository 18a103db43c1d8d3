"""What the test suite and the benchmarks share, and the product never uses: child servers on
loopback (a free port, waiting until a child answers, stopping it whatever happens) and a real
PgBouncer in front of a database.

A top-level package of the checkout, like ``tests/`` and ``benchmarks/``: it is not installed
with the product (``pyproject.toml`` ships ``backend``, ``tenants_core`` and ``graphql_api``
only), and nothing in those packages imports it. The benchmarks import it rather than
``tests/``, which holds pytest fixtures.
"""

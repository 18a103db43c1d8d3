"""Compiled reads: covered GraphQL queries answered by one SQL statement that builds the
response's JSON in PostgreSQL, byte for byte what the normal execution answers.

- ``coverage``: what is covered, declared next to the types (``graphql_api/<domain>/compiled.py``).
- ``planner``: a validated operation → a plan, or a ``Decline`` (normal execution).
- ``plans``: the bounded plan cache.
- ``runner``: permissions and arguments as the normal execution reads them, the selectors'
  querysets as subqueries, the statement.
- ``extension``: where strawberry's execution is skipped when a plan answered.

docs/compiled-reads.md explains the design, the equivalence rules and how to cover a field.
"""

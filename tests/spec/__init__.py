"""The specification, as literal tables written by hand from the documents (README.md,
docs/permissions.md): who may call each operation, what an allowed call must do, what it
must write to the audit trail.

Nothing here reads the code under test. Tests compare the server's behaviour with these
tables, so a change to a permission, an effect or an audit action turns a test red until
the table is changed too, on purpose, in the same commit.
"""

import pytest

# The checks' asserts live here, not in test modules: have pytest explain their failures.
pytest.register_assert_rewrite("tests.spec.answers", "tests.spec.effects", "tests.spec.run")

"""Schema-driven fuzzing of every GraphQL operation (issue 22, item 3); see test_operations."""

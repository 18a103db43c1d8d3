"""The schema extension that answers covered queries with one statement.

It runs when strawberry executes, after parsing, validation and the document limits, and
before graphql-core's execution: a plan's answer becomes the execution's result and graphql-core
does not run; a declined plan (or an operation that is not covered) leaves the execution as it
always was. Everything around it (error classification, the response, metrics) is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from backend.observability.metrics import COMPILED_READS
from graphql_api.core.compiled import plans, runner
from graphql_api.core.compiled.planner import Plan


class CompiledReads(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if (
            settings.GRAPHQL_COMPILED_READS
            and context.result is None
            and not context.pre_execution_errors
            and isinstance(context.query, str)
            and context.graphql_document is not None
            and context.operation_type is OperationType.QUERY
        ):
            plan = plans.plan_for(
                context.schema, context.query, context.graphql_document, context.operation_name
            )
            data = (
                runner.run(context.schema, plan, context.context, context.variables)
                if isinstance(plan, Plan)
                else None
            )
            COMPILED_READS.labels("compiled" if data is not None else "declined").inc()
            if data is not None:
                context.result = GraphQLExecutionResult(data=data, errors=None)
        yield

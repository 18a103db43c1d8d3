"""The schema extension that answers covered queries with one statement.

It runs when strawberry executes, after parsing, validation and the document limits, and
before graphql-core's execution: a plan's answer becomes the execution's result and graphql-core
does not run; a declined plan (or an operation that is not covered) leaves the execution as it
always was. Everything around it (error classification, the response, metrics) is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from django.conf import settings
from graphql import ExecutionResult as GraphQLExecutionResult
from opentelemetry import trace
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from backend.observability.metrics import COMPILED_READS
from graphql_api.core.compiled import plans, runner
from graphql_api.core.compiled.planner import Plan

_tracer = trace.get_tracer(__name__)


def _span(plan: Plan) -> AbstractContextManager[Any]:
    """With tracing on, a span for the compiled statement (its database span beneath it),
    named for the root fields (never the arguments or the document: patient data)."""
    if not settings.TRACING_ENABLED:
        return nullcontext()
    fields = ", ".join(sorted({r.selected.name for r in plan.roots if not isinstance(r, str)}))
    return _tracer.start_as_current_span(f"GraphQL Compiled: {fields}")


class CompiledReads(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        request = getattr(context.context, "request", None)
        if (
            settings.GRAPHQL_COMPILED_READS
            # The benchmark's normal-execution endpoint turns them off for its requests.
            and getattr(request, "compiled_reads", True)
            and context.result is None
            and not context.pre_execution_errors
            and isinstance(context.query, str)
            and context.graphql_document is not None
            and context.operation_type is OperationType.QUERY
        ):
            # Keyed by the name the client sent (None for a lone operation), as the view's
            # fast path looks it up; ``operation_name`` would be the document's own.
            provided = getattr(context, "_provided_operation_name", None)
            plan = plans.plan_for(context.schema, context.query, context.graphql_document, provided)
            data = None
            if isinstance(plan, Plan):
                with _span(plan):
                    data = runner.run(context.schema, plan, context.context, context.variables)
            COMPILED_READS.labels("compiled" if data is not None else "declined").inc()
            if data is not None:
                context.result = GraphQLExecutionResult(data=data, errors=None)
        yield

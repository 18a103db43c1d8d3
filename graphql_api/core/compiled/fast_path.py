"""Compiled reads without strawberry's execution: a document already planned and known valid
is answered by its plan straight from the view (``ClinicGraphQLView.execute_single``).

The first request of a text goes the whole way (parsing, validation, the limits, then the
``CompiledReads`` extension plans it); from the second on, only what the plan needs runs: the
root fields' own permissions and resolvers, the statement. What the skipped steps would have
done is settled already: the validation cache says the text passed under the limits in force
(introspection included), request parsing has enforced persisted documents, and the
operation's label is left on the request as ``OperationLabel`` leaves it. A decline, or
tracing on (its spans come from strawberry's extensions), takes the whole way; a declined
request is not tried again by the extension.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from strawberry.types import ExecutionResult

from backend.observability import labels
from backend.observability.metrics import COMPILED_READS
from graphql_api.core import document_cache
from graphql_api.core.compiled import plans, runner
from graphql_api.core.compiled.planner import Plan
from graphql_api.core.observability import label_of


def answer(schema: Any, request_data: Any, context: Any) -> ExecutionResult | None:
    """The compiled result of the request, or None: the normal way answers it."""
    request = context.request
    query = request_data.query
    if (
        not settings.GRAPHQL_COMPILED_READS
        or settings.TRACING_ENABLED
        or not getattr(request, "compiled_reads", True)
        or not isinstance(query, str)
    ):
        return None
    plan = plans.cached(query, request_data.operation_name)
    if not isinstance(plan, Plan) or not document_cache.known_valid(query):
        return None
    setattr(request, labels.OPERATION_ATTRIBUTE, label_of(plan.operation))
    data = runner.run(schema, plan, context, request_data.variables)
    if data is None:
        request.compiled_reads = False  # the extension must not try it again
        COMPILED_READS.labels("declined").inc()
        return None
    COMPILED_READS.labels("compiled").inc()
    return ExecutionResult(data=data, errors=None)

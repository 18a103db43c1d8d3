"""The GraphQL side of ``backend.observability``: the request's operation label (metrics and
log lines) and, when tracing is on, strawberry's spans without patient data."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

from graphql import FieldNode, GraphQLResolveInfo, OperationDefinitionNode
from opentelemetry.trace import SpanKind
from strawberry.extensions import SchemaExtension
from strawberry.extensions.tracing import OpenTelemetryExtensionSync
from strawberry.extensions.tracing.opentelemetry import LifecycleStep

from backend.observability import labels


def _request(extension: SchemaExtension) -> Any:
    return getattr(getattr(extension.execution_context, "context", None), "request", None)


def _operation(document: Any, name: str | None) -> OperationDefinitionNode | None:
    operations = [
        d for d in getattr(document, "definitions", ()) if isinstance(d, OperationDefinitionNode)
    ]
    for operation in operations:
        if name is None or (operation.name is not None and operation.name.value == name):
            return operation
    return None


def _root_fields(operation: OperationDefinitionNode) -> Iterator[str]:
    for selection in operation.selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value


def operation_label(execution_context: Any) -> str:
    """The client's operation name (bounded), or for an anonymous operation its first root
    field, or ``-`` when the document has no operation to run."""
    provided = getattr(execution_context, "_provided_operation_name", None)
    document = execution_context.graphql_document
    operation = _operation(document, provided) if document is not None else None
    if operation is not None and operation.name is not None:
        return labels.operation(operation.name.value)
    if operation is not None:
        first = next(_root_fields(operation), None)
        return labels.operation(first)
    return labels.operation(provided)


class OperationLabel(SchemaExtension):
    """Leaves the operation's label on the request (``labels.OPERATION_ATTRIBUTE``) as soon
    as the name is known and again once the document is parsed, for the metrics and for
    every later log line of the request."""

    def _label(self) -> None:
        request = _request(self)
        if request is not None:
            setattr(request, labels.OPERATION_ATTRIBUTE, operation_label(self.execution_context))

    def on_operation(self) -> Generator[None, None, None]:
        self._label()
        yield

    def on_validate(self) -> Generator[None, None, None]:
        self._label()
        yield

    def on_execute(self) -> Generator[None, None, None]:
        self._label()
        yield


class PrivateOpenTelemetry(OpenTelemetryExtensionSync):
    """strawberry's spans (operation, parsing, validation, each resolver) without what could
    carry patient data: no document text (literals) and no field arguments."""

    def on_operation(self) -> Generator[None, None, None]:
        span = self._tracer.start_span("GraphQL Operation", kind=SpanKind.INTERNAL)
        span.set_attribute("component", "graphql")
        self._span_holder[LifecycleStep.OPERATION] = span
        yield
        span.set_attribute("graphql.operation.name", operation_label(self.execution_context))
        span.end()

    def filter_resolver_args(
        self, args: dict[str, Any], info: GraphQLResolveInfo
    ) -> dict[str, Any]:
        return {}

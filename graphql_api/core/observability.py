"""The GraphQL side of ``backend.observability``: the request's operation label (metrics and
log lines) and, when tracing is on, strawberry's spans without patient data."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

from graphql import FieldNode, GraphQLResolveInfo, OperationDefinitionNode
from opentelemetry import context as otel_context
from opentelemetry import trace
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
    return label_of(operation, provided)


def label_of(operation: OperationDefinitionNode | None, provided: str | None = None) -> str:
    """``operation_label`` of a parsed operation (compiled reads label theirs with it)."""
    if operation is not None and operation.name is not None:
        return labels.operation(operation.name.value)
    if operation is not None:
        first = next(_root_fields(operation), None)
        return labels.operation(first)
    return labels.operation(provided)


class OperationLabel(SchemaExtension):
    """Leaves the operation's label on the request (``labels.OPERATION_ATTRIBUTE``), for the
    metrics and for every later log line of the request: ``invalid`` while the document is
    not (yet) executed, so for every refusal before execution (unparseable, invalid, over the
    limits); the operation's name once the schema executes the parsed and validated document.
    Never the raw ``operationName`` of a document that did not run: junk names must not fill
    the label cap (``labels.operation``)."""

    def _set(self, label: str) -> None:
        request = _request(self)
        if request is not None:
            setattr(request, labels.OPERATION_ATTRIBUTE, label)

    def on_operation(self) -> Generator[None, None, None]:
        self._set(labels.INVALID)
        yield

    def on_execute(self) -> Generator[None, None, None]:
        self._set(operation_label(self.execution_context))
        yield


class PrivateOpenTelemetry(OpenTelemetryExtensionSync):
    """strawberry's spans (operation, parsing, validation, each resolver) without what could
    carry patient data: no document text (literals) and no field arguments."""

    def on_operation(self) -> Generator[None, None, None]:
        span = self._tracer.start_span("GraphQL Operation", kind=SpanKind.INTERNAL)
        span.set_attribute("component", "graphql")
        self._span_holder[LifecycleStep.OPERATION] = span
        # Current while the operation runs: spans started without strawberry's help (a
        # compiled read's, graphql_api/core/compiled) are its children.
        attached = otel_context.attach(trace.set_span_in_context(span))
        try:
            yield
        finally:
            otel_context.detach(attached)
        # The label OperationLabel left (``invalid`` for a document that never ran): never
        # computed here from an unexecuted document, which would admit its name to the cap.
        request = _request(self)
        span.set_attribute("graphql.operation.name", labels.request_operation(request))
        span.end()

    def filter_resolver_args(
        self, args: dict[str, Any], info: GraphQLResolveInfo
    ) -> dict[str, Any]:
        return {}

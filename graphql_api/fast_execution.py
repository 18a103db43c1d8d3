"""Completing plain leaf fields without graphql-core's per-field machinery.

For each field of each row graphql-core builds a resolve info, wraps the resolver in the
extensions' middleware, and walks ``complete_value`` before it reaches ``coerce_output_value``.
For the leaf fields that ``fast_fields`` already resolves from the loaded row (a column, a
row-only method, the default node id), the answer is that value coerced; this execution
context produces it directly, in the selection's order.

Anything not plainly answerable goes through graphql-core's own ``execute_field``, unchanged:
a value that is not loaded, a source that is not the type's model, ``None`` for a non-null
field, an exception, a value that does not coerce, any middleware besides the optimizer (whose
``resolve`` ignores values that are not querysets). Fields with arguments, extensions or
permissions never have a fast resolver, so they always take the full path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from graphql import GraphQLObjectType, Undefined, get_nullable_type, is_leaf_type, is_non_null_type
from graphql.pyutils import Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry_django.optimizer import DjangoOptimizerExtension

from graphql_api.fast_fields import MISSING, Installed, original_resolvers

# (source) -> the coerced value, or MISSING when graphql-core must do it.
LeafCompleter = Callable[[Any], Any]


def _completer(entry: Installed) -> LeafCompleter | None:
    leaf_getter = getattr(entry.fast, "leaf_getter", None)
    return_type = entry.field.type
    leaf_type = get_nullable_type(return_type)
    if leaf_getter is None or not is_leaf_type(leaf_type):
        return None
    non_null = is_non_null_type(return_type)
    coerce = leaf_type.coerce_output_value

    def complete(source: Any) -> Any:
        try:
            value = leaf_getter(source)
            if value is MISSING or isinstance(value, Exception):
                return MISSING
            if value is None or value is Undefined:
                return MISSING if non_null else None
            coerced = coerce(value)
        except Exception:  # graphql-core reports it, with its path
            return MISSING
        return MISSING if coerced is None or coerced is Undefined else coerced

    return complete


def leaf_plans(installed: list[Installed]) -> dict[str, dict[str, LeafCompleter]]:
    """Per object type name, the fields whose value this context may complete itself."""
    plans: dict[str, dict[str, LeafCompleter]] = {}
    for entry in installed:
        completer = _completer(entry)
        if completer is not None:
            plans.setdefault(entry.type_name, {})[entry.field_name] = completer
    return plans


class FastLeafExecutionContext(StrawberryGraphQLCoreExecutionContext):
    plans: dict[str, dict[str, LeafCompleter]] = {}

    def _only_the_optimizer(self) -> bool:
        try:
            return self._only_optimizer  # type: ignore[no-any-return,has-type]
        except AttributeError:
            manager = self.middleware_manager
            middlewares = manager.middlewares if manager is not None else ()
            self._only_optimizer = all(
                isinstance(m, DjangoOptimizerExtension) for m in middlewares or ()
            )
            return self._only_optimizer

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        plan = self.plans.get(parent_type.name)
        if not plan or not self._only_the_optimizer():
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list in grouped_field_set.items():
                complete = plan.get(field_details_list[0].node.name.value)
                if complete is not None:
                    value = complete(source_value)
                    if value is not MISSING:
                        results[response_name] = value
                        continue
                result = self.execute_field(
                    parent_type,
                    source_value,
                    field_details_list,
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:  # as graphql-core's execute_fields
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await gather_with_cancel(*(results[f] for f in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()


@contextmanager
def full_path() -> Iterator[None]:
    """strawberry's resolvers and graphql-core's completion for every field (tests compare)."""
    from graphql_api.schema import fast_fields

    plans = FastLeafExecutionContext.plans
    FastLeafExecutionContext.plans = {}
    try:
        with original_resolvers(fast_fields):
            yield
    finally:
        FastLeafExecutionContext.plans = plans

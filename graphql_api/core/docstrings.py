"""Decorators that turn class docstrings into schema descriptions, so GraphiQL documents
the API from the same text the code reads."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform

import strawberry
import strawberry_django
from strawberry.types.field import StrawberryField

T = TypeVar("T", bound=type)


def _doc(cls: type) -> str | None:
    return inspect.cleandoc(cls.__doc__) if cls.__doc__ else None


# dataclass_transform, as strawberry.type and strawberry_django.type declare it, so that the
# type checker knows the generated keyword-only __init__ of the decorated class.
@dataclass_transform(kw_only_default=True, field_specifiers=(strawberry.field, StrawberryField))
def django_type(model: type, **options: Any) -> Callable[[T], T]:
    """``strawberry_django.type(model)`` described by the class docstring."""

    def wrap(cls: T) -> T:
        return strawberry_django.type(model, description=_doc(cls), **options)(cls)

    return wrap


@dataclass_transform(kw_only_default=True, field_specifiers=(strawberry.field, StrawberryField))
def graphql_type(cls: T) -> T:
    """``strawberry.type`` described by the class docstring."""
    return strawberry.type(cls, description=_doc(cls))

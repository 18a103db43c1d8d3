"""Turning strawberry inputs into plain data for the services."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

import strawberry


def input_data(value: Any) -> dict[str, Any]:
    """The fields the client gave (``UNSET`` ones dropped), enums replaced by their values."""
    data = {}
    for field in dataclasses.fields(value):
        item = getattr(value, field.name)
        if item is strawberry.UNSET:
            continue
        data[field.name] = item.value if isinstance(item, Enum) else item
    return data

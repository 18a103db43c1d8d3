"""The audit trail's shape of a change, shared by the clinic's services (through
``backend.audit.services``) and the platform's (``tenants_core``), which may not import the
audit app."""

from __future__ import annotations

from typing import Any


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields that changed, as ``{field: {"from": old, "to": new}}``."""
    return {
        key: {"from": before.get(key), "to": value}
        for key, value in after.items()
        if before.get(key) != value
    }

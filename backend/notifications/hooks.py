"""Registers messaging's reaction to appointment changes (called from ``AppConfig.ready``)."""

from __future__ import annotations

from backend.scheduling.hooks import appointment_hook_register


def register() -> None:
    from backend.notifications.delivery import appointment_messages_plan

    appointment_hook_register(appointment_messages_plan)

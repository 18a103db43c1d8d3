"""Reads of the patient assistant."""

from __future__ import annotations

from backend.assistant.models import SETTINGS_PK, AssistantSettings


def assistant_settings_get() -> AssistantSettings:
    """The clinic's assistant settings, created with their defaults on first use."""
    settings, _ = AssistantSettings.objects.get_or_create(pk=SETTINGS_PK)
    return settings

"""Fixtures of the patients' tests."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def staff(clinic1: Any, make_staff: Any, token_for: Any) -> Any:
    """``staff(role)``: a fresh user of clinica1 and their token."""

    def make(role):
        user = make_staff(clinic1, role)
        return user, token_for(clinic1, user)

    return make

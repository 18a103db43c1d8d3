"""The read-only admin the console wires in with ``register(site)``."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import RequestFactory

from backend.metrics.admin import register
from backend.metrics.models import ClinicDayMetrics, MetricsRollupRun


@pytest.mark.skipif(
    not apps.is_installed("django.contrib.admin"),
    reason="the platform console (branch s18-console) installs django.contrib.admin",
)
def test_register_puts_read_only_admins_on_the_given_site_only():
    site = admin.AdminSite(name="metrics-test")
    register(site)
    assert not admin.site.is_registered(ClinicDayMetrics)
    request = RequestFactory().get("/")
    for model in (ClinicDayMetrics, MetricsRollupRun):
        model_admin = site.get_model_admin(model)
        assert model_admin.has_add_permission(request) is False
        assert model_admin.has_change_permission(request) is False
        assert model_admin.has_delete_permission(request) is False

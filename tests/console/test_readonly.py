"""The tables a service writes are read-only in the console: no add, change or delete form
writes a row (a refusal is a coded 403 that changes nothing), and every list and page opens."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import models
from django.utils import timezone

from backend.audit.models import AuditEvent
from backend.metrics.models import ClinicDayMetrics, MetricsRollupRun
from backend.metrics.rollup import clinic_day_rollup
from backend.metrics.selectors import LATEST_WINDOW_DAYS, NEAREST_LIMITS
from tenants_core.models import (
    Clinic,
    ClinicBackup,
    DatabaseBackup,
    Domain,
    MessagingSender,
    Plan,
)
from tests.console.conftest import console_get, console_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(clinic1: Clinic) -> dict[str, models.Model]:
    """One row of each table the console shows."""
    return {
        "clinic": clinic1,
        "domain": Domain.objects.filter(tenant=clinic1).first(),
        "plan": Plan.objects.get(code="basic"),
        "clinicbackup": ClinicBackup.objects.create(
            id=uuid.uuid4(),
            clinic=clinic1,
            subdomain="clinica1",
            schema_name="clinic_clinica1",
            file_name="clinica1/x.tar.gz.enc",
            size_bytes=10,
            sha256="0" * 64,
            tables=1,
            rows=1,
            migrations_fingerprint="f",
        ),
        "databasebackup": DatabaseBackup.objects.create(
            id=uuid.uuid4(),
            status="done",
            file_name="database/x.pgdump.enc",
            size_bytes=10,
            sha256="0" * 64,
            key_id="k1",
            offsite_status="failed",
            offsite_error="NoSuchBucket",
        ),
        "messagingsender": MessagingSender.objects.create(
            clinic=clinic1, channel="SMS", external_id="+51987650000"
        ),
        "auditevent": AuditEvent.objects.create(action="clinic.test", entity_type="x"),
        "clinicdaymetrics": clinic_day_rollup(clinic=clinic1, day=dt.date(2024, 7, 1)),
        "metricsrolluprun": MetricsRollupRun.objects.create(
            day=dt.date(2024, 7, 1), started_at=timezone.now()
        ),
    }


MODELS = {
    "clinic": "tenants_core",
    "domain": "tenants_core",
    "plan": "tenants_core",
    "clinicbackup": "tenants_core",
    "databasebackup": "tenants_core",
    "messagingsender": "tenants_core",
    "auditevent": "audit",
    "clinicdaymetrics": "metrics",
    "metricsrolluprun": "metrics",
}


def _snapshot(row: models.Model) -> dict[str, Any]:
    fresh = type(row).objects.filter(pk=row.pk).values().first()
    assert fresh is not None
    return fresh


def _forbidden(response: Any) -> bool:
    return (
        response.status_code == 403
        and response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    )


@pytest.mark.parametrize("model", list(MODELS))
def test_every_list_and_page_opens_read_only(operator, rows, model):
    row = rows[model]
    base = f"{MODELS[model]}/{model}/"

    listing = console_get(operator, base)
    page = console_get(operator, f"{base}{row.pk}/change/")

    assert listing.status_code == 200
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert b'name="_save"' not in page.content
    assert b"deletelink" not in page.content
    # No "History": Django's admin log stays empty (the audit trail records the console).
    assert b"historylink" not in page.content
    assert console_get(operator, f"{base}{row.pk}/history/").status_code == 404


@pytest.mark.parametrize("model", list(MODELS))
def test_no_form_changes_or_deletes_a_row(operator, rows, model):
    row = rows[model]
    base = f"{MODELS[model]}/{model}/"
    before = _snapshot(row)
    count = type(row).objects.count()
    data = {field: "changed" for field in before if field != "id"}

    changed = console_post(operator, f"{base}{row.pk}/change/", data)
    delete_page = console_get(operator, f"{base}{row.pk}/delete/")
    deleted = console_post(operator, f"{base}{row.pk}/delete/", {"post": "yes"})
    bulk = console_post(
        operator, base, {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
    )

    assert _forbidden(changed)
    assert _forbidden(delete_page)
    assert _forbidden(deleted)
    assert bulk.status_code in (200, 302)  # no such action: the list again, nothing done
    assert _snapshot(row) == before
    assert type(row).objects.count() == count


@pytest.mark.parametrize("model", [m for m in MODELS if m != "clinic"])
def test_no_form_adds_a_row(operator, rows, model):
    model_class = type(rows[model])
    count = model_class.objects.count()

    page = console_get(operator, f"{MODELS[model]}/{model}/add/")
    posted = console_post(operator, f"{MODELS[model]}/{model}/add/", {"code": "x", "domain": "x"})

    assert _forbidden(page)
    assert _forbidden(posted)
    assert model_class.objects.count() == count


def test_adding_a_clinic_is_the_provisioning_form(operator, public_tenant):
    page = console_get(operator, "tenants_core/clinic/add/")

    assert page.status_code == 200
    assert set(page.context["form"].fields) >= {"subdomain", "legal_id", "admin_password"}


def test_the_index_lists_the_console_models(operator):
    page = console_get(operator, "")

    models_shown = {m["object_name"] for app in page.context["app_list"] for m in app["models"]}
    assert models_shown >= {
        "Clinic",
        "Domain",
        "Plan",
        "ClinicBackup",
        "DatabaseBackup",
        "MessagingSender",
        "AuditEvent",
        "ClinicDayMetrics",
        "MetricsRollupRun",
    }
    assert b"/console/tenants_core/clinic/add/" in page.content


def test_the_front_page_shows_the_platform_figures(operator, rows):
    """platformMetrics' figures, from the rollup's public tables, beside the tables."""
    clinics = Clinic.objects.exclude(schema_name="public")
    yesterday = timezone.localdate(timezone=ZoneInfo("America/Lima")) - dt.timedelta(days=1)
    clinic_day_rollup(clinic=rows["clinic"], day=yesterday)

    page = console_get(operator, "")

    assert page.status_code == 200
    figures = page.context["metrics"]
    assert figures.by_status == {
        status: clinics.filter(status=status).count()
        for status in set(clinics.values_list("status", flat=True))
    }
    assert figures.mrr == sum(c.plan.monthly_price for c in clinics.filter(status="active"))
    assert b'id="platform-metrics"' in page.content
    assert f"USD {figures.mrr}".encode() in page.content
    # Every active clinic with a recent rolled-up row (clinica1's, at least) is a candidate; the
    # page shows the nearest NEAREST_LIMITS of them, each by name.
    candidates = (
        ClinicDayMetrics.objects.filter(
            day__gte=yesterday + dt.timedelta(days=1) - dt.timedelta(days=LATEST_WINDOW_DAYS),
            clinic__status="active",
        )
        .values("clinic")
        .distinct()
        .count()
    )
    assert candidates >= 1
    assert len(figures.nearest_limits) == min(candidates, NEAREST_LIMITS)
    for usage in figures.nearest_limits:
        assert usage.clinic.subdomain.encode() in page.content


def test_times_are_shown_in_the_platform_s_zone_not_utc(operator, rows):
    """Stored UTC, shown in America/Lima (UTC−5) like everything else people read."""
    backup = rows["clinicbackup"]
    ClinicBackup.objects.filter(pk=backup.pk).update(
        created_at=dt.datetime(2024, 7, 1, 15, 0, tzinfo=dt.UTC)
    )

    page = console_get(operator, "tenants_core/clinicbackup/")

    assert page.status_code == 200
    assert b"July 1, 2024, 10 a.m." in page.content
    assert b"3 p.m." not in page.content

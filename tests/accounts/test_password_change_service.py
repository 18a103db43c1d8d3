"""``user_password_change``: Django's validators decide, every API token of the user goes,
the change is audited; a refused password changes nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from backend.accounts.models import AuthToken, User
from backend.accounts.services import user_password_change
from backend.audit.models import AuditEvent
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_a_new_password_revokes_every_token_and_is_audited(platform_admin, platform_token):
    user_password_change(
        actor=platform_admin, user=platform_admin, password="Otra-clave-segura-2026", channel="x"
    )

    platform_admin.refresh_from_db()
    assert platform_admin.check_password("Otra-clave-segura-2026")
    assert not AuthToken.objects.filter(user=platform_admin, revoked_at__isnull=True).exists()
    (event,) = AuditEvent.objects.filter(action="auth.password_change")
    assert event.changes == {"channel": "x", "tokens_revoked": 1}


def test_a_weak_password_is_refused_and_changes_nothing(platform_admin, platform_token):
    with pytest.raises(ValidationError) as refused:
        user_password_change(actor=platform_admin, user=platform_admin, password="123", channel="x")

    assert refused.value.error_dict["password"][0].code == "INVALID_PASSWORD"
    assert User.objects.get(pk=platform_admin.pk).check_password(TEST_PASSWORD)
    assert AuthToken.objects.filter(user=platform_admin, revoked_at__isnull=True).count() == 1
    assert not AuditEvent.objects.filter(action="auth.password_change").exists()

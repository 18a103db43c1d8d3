"""Writes on the clinic's procedure catalog."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.audit.services import assign, audit_record
from backend.core.error_codes import CommonError
from backend.core.errors import field_error
from backend.treatments.errors import TreatmentError
from backend.treatments.models import Category, Procedure
from backend.treatments.money import amount


def _procedure_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "code" in data:
        code = (data["code"] or "").strip().upper()
        if not re.fullmatch(r"[A-Z0-9][A-Z0-9.\-]{0,19}", code):
            raise field_error(
                "code",
                _("A code of 1 to 20 letters, digits, dots or dashes."),
                TreatmentError.INVALID_CODE,
            )
        fields["code"] = code
    if "name" in data:
        name = " ".join((data["name"] or "").split())
        if not name or len(name) > 150:
            raise field_error(
                "name",
                _("A name is required (at most 150 characters)."),
                TreatmentError.INVALID_NAME,
            )
        fields["name"] = name
    if data.get("category") is not None:  # null, like a category left out, changes nothing
        fields["category"] = Category(data["category"])
    if "default_price" in data:
        fields["default_price"] = amount(data["default_price"], "default_price")
    if "default_duration_minutes" in data:
        minutes = data["default_duration_minutes"]
        if not isinstance(minutes, int) or not 5 <= minutes <= 480:
            raise field_error(
                "default_duration_minutes",
                _("Between 5 minutes and 8 hours."),
                TreatmentError.INVALID_DURATION,
            )
        fields["default_duration_minutes"] = minutes
    for flag in ("requires_tooth",):
        if flag in data:
            fields[flag] = bool(data[flag])
    for choice in ("result_condition", "result_material"):
        if choice in data:
            fields[choice] = data[choice] or ""
    return fields


def _save_procedure(procedure: Procedure) -> None:
    try:
        with transaction.atomic():
            procedure.save()
    except IntegrityError:
        raise field_error(
            "code", _("Another procedure has this code."), TreatmentError.CODE_TAKEN
        ) from None


@transaction.atomic
def procedure_create(*, actor: User, data: Mapping[str, Any]) -> Procedure:
    """Add a procedure to the clinic's catalog (prices in PEN)."""
    missing = [
        f for f in ("code", "name", "category", "default_price") if data.get(f) in (None, "")
    ]
    if missing:
        raise ValidationError(
            {
                f: ValidationError(_("This field is required."), code=CommonError.REQUIRED)
                for f in missing
            }
        )
    procedure = Procedure(**_procedure_fields(data))
    _save_procedure(procedure)
    audit_record(
        actor=actor,
        action="procedure.create",
        entity=procedure,
        changes={
            "code": procedure.code,
            "name": procedure.name,
            "default_price": procedure.default_price,
        },
    )
    return procedure


@transaction.atomic
def procedure_update(*, actor: User, procedure: Procedure, data: Mapping[str, Any]) -> Procedure:
    procedure = Procedure.objects.select_for_update().get(pk=procedure.pk)
    fields = _procedure_fields(data)
    changes = assign(procedure, fields)
    _save_procedure(procedure)
    audit_record(actor=actor, action="procedure.update", entity=procedure, changes=changes)
    return procedure


@transaction.atomic
def procedure_deactivate(*, actor: User, procedure: Procedure) -> Procedure:
    procedure = Procedure.objects.select_for_update().get(pk=procedure.pk)
    if not procedure.is_active:
        raise field_error(
            None, _("This procedure is already inactive."), TreatmentError.ALREADY_INACTIVE
        )
    procedure.is_active = False
    procedure.save(update_fields=["is_active"])
    audit_record(
        actor=actor, action="procedure.deactivate", entity=procedure, changes={"is_active": False}
    )
    return procedure

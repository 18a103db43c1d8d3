"""``manage.py create_clinic`` as the original system's operators type it: Spanish plan names,
and a RUC whose only fault is its check digit told which digit it needs."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from backend.core.tenancy import clinic_context
from tenants_core.errors import PlatformError
from tenants_core.management.commands.create_clinic import Command
from tenants_core.models import Clinic, PlanCode
from tenants_core.plan_names import plan_code_from_name
from tenants_core.validators import validate_ruc
from tests.conftest import TEST_PASSWORD

# The original system's example: ``crear_clinica.py clinica3 "DentPlus" 20111222333 ... basico``.
ORIGINAL_RUC = "20111222333"
CORRECTED_RUC = "20111222330"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("basico", PlanCode.BASIC),
        ("básico", PlanCode.BASIC),
        ("BÁSICO", PlanCode.BASIC),
        ("Basico", PlanCode.BASIC),
        ("b\u0061\u0301sico", PlanCode.BASIC),  # "á" decomposed, as some terminals send it
        ("profesional", PlanCode.PROFESSIONAL),
        ("Profesional", PlanCode.PROFESSIONAL),
        ("empresarial", PlanCode.ENTERPRISE),
        ("EMPRESARIAL", PlanCode.ENTERPRISE),
        ("basic", PlanCode.BASIC),
        ("Professional", PlanCode.PROFESSIONAL),
        ("ENTERPRISE", PlanCode.ENTERPRISE),
    ],
)
def test_a_plan_is_named_by_its_code_or_its_spanish_name_in_any_case(name, code):
    assert plan_code_from_name(name) is code


@pytest.mark.parametrize("name", ["platinum", "básica", "pro", "", "basico extra"])
def test_other_plan_names_mean_no_plan(name):
    assert plan_code_from_name(name) is None


def test_the_help_lists_each_plan_with_its_spanish_name():
    text = Command().create_parser("manage.py", "create_clinic").format_help()
    for expected in ("basic (básico)", "professional (profesional)", "enterprise (empresarial)"):
        assert expected in " ".join(text.split())  # argparse wraps the help


def test_a_ruc_with_a_wrong_check_digit_is_refused_with_the_digit_it_needs():
    with pytest.raises(ValidationError) as raised:
        validate_ruc(ORIGINAL_RUC)
    assert raised.value.code == PlatformError.RUC_INVALID_CHECK_DIGIT
    message = raised.value.messages[0]
    assert "should be 0" in message
    assert CORRECTED_RUC in message
    assert validate_ruc(CORRECTED_RUC) == CORRECTED_RUC


@pytest.mark.parametrize(("ruc", "digit"), [("20100070971", 0), ("20601234560", 5)])
def test_the_hint_is_the_sunat_check_digit(ruc, digit):
    with pytest.raises(ValidationError) as raised:
        validate_ruc(ruc)
    assert f"should be {digit} ({ruc[:10]}{digit})" in raised.value.messages[0]


@pytest.mark.parametrize("ruc", ["2011122233", "30111222333"])
def test_other_ruc_faults_give_no_check_digit_hint(ruc):
    with pytest.raises(ValidationError) as raised:
        validate_ruc(ruc)
    assert raised.value.code != PlatformError.RUC_INVALID_CHECK_DIGIT
    assert "should be" not in raised.value.messages[0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("typed", "stored"),
    [("basico", "basic"), ("Profesional", "professional"), ("EMPRESARIAL", "enterprise")],
)
def test_the_command_stores_the_plan_code_for_a_spanish_plan_name(typed, stored, capsys):
    call_command(
        "create_clinic", "dentplus", "DentPlus", CORRECTED_RUC, "admin@dentplus.pe", typed,
        "--admin-password", TEST_PASSWORD,
    )  # fmt: skip
    clinic = Clinic.objects.get(subdomain="dentplus")
    assert clinic.plan.code == stored
    assert f"plan:    {stored}" in capsys.readouterr().out
    with clinic_context(clinic):
        assert get_user_model().objects.get().email == "admin@dentplus.pe"


@pytest.mark.django_db
def test_the_command_refuses_an_unknown_plan_naming_the_plans_and_creates_nothing():
    before = Clinic.objects.count()
    with pytest.raises(CommandError) as raised:
        call_command(
            "create_clinic", "dentplus", "DentPlus", CORRECTED_RUC, "admin@dentplus.pe",
            "platino", "--admin-password", TEST_PASSWORD,
        )  # fmt: skip
    assert "platino" in str(raised.value)
    assert "basic (básico)" in str(raised.value)
    assert Clinic.objects.count() == before


@pytest.mark.django_db
def test_the_original_example_is_refused_only_for_its_check_digit_and_told_the_right_one():
    before = Clinic.objects.count()
    with pytest.raises(CommandError) as raised:
        call_command(
            "create_clinic", "dentplus", "DentPlus", ORIGINAL_RUC, "admin@dentplus.pe", "basico",
            "--admin-password", TEST_PASSWORD,
        )  # fmt: skip
    lines = str(raised.value).splitlines()[1:]
    assert len(lines) == 1, lines  # the plan alias is accepted: one problem only
    assert lines[0].startswith("legal_id: ")
    assert lines[0].endswith("[RUC_INVALID_CHECK_DIGIT]")
    assert f"should be 0 ({CORRECTED_RUC})" in lines[0]
    assert Clinic.objects.count() == before

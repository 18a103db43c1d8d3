import pytest
from django.core.exceptions import ValidationError

from tenants_core.errors import PlatformError
from tenants_core.validators import ruc_check_digit, validate_ruc, validate_subdomain


@pytest.mark.parametrize(
    "subdomain",
    ["abc", "clinica1", "dental-smile", "a1b", "1clinic", "x" * 63, "san-isidro-2"],
)
def test_good_subdomains_are_accepted(subdomain):
    assert validate_subdomain(subdomain) == subdomain


@pytest.mark.parametrize(
    ("subdomain", "code"),
    [
        ("", PlatformError.INVALID_SUBDOMAIN),
        ("ab", PlatformError.INVALID_SUBDOMAIN),
        ("x" * 64, PlatformError.INVALID_SUBDOMAIN),
        ("Clinica", PlatformError.INVALID_SUBDOMAIN),
        ("-clinica", PlatformError.INVALID_SUBDOMAIN),
        ("clinica-", PlatformError.INVALID_SUBDOMAIN),
        ("clin_ica", PlatformError.INVALID_SUBDOMAIN),
        ("clin.ica", PlatformError.INVALID_SUBDOMAIN),
        ("clínica", PlatformError.INVALID_SUBDOMAIN),
        ("clin ica", PlatformError.INVALID_SUBDOMAIN),
        ("www", PlatformError.SUBDOMAIN_RESERVED),
        ("api", PlatformError.SUBDOMAIN_RESERVED),
        ("admin", PlatformError.SUBDOMAIN_RESERVED),
        ("public", PlatformError.SUBDOMAIN_RESERVED),
        ("static", PlatformError.SUBDOMAIN_RESERVED),
        ("mail", PlatformError.SUBDOMAIN_RESERVED),
        ("xn--clnica-yva", PlatformError.SUBDOMAIN_RESERVED),
        ("pg-catalog", PlatformError.SUBDOMAIN_RESERVED),
    ],
)
def test_bad_subdomains_are_rejected_with_their_code(subdomain, code):
    with pytest.raises(ValidationError) as raised:
        validate_subdomain(subdomain)
    assert raised.value.code == code
    assert raised.value.messages[0]


@pytest.mark.parametrize(
    "ruc",
    ["20100070970", "20601234565", "10461728397", "20504321097", "20600000005"],
)
def test_good_rucs_are_accepted(ruc):
    assert validate_ruc(ruc) == ruc


@pytest.mark.parametrize(
    ("ruc", "code"),
    [
        ("", PlatformError.RUC_INVALID_FORMAT),
        ("2010007097", PlatformError.RUC_INVALID_FORMAT),
        ("201000709700", PlatformError.RUC_INVALID_FORMAT),
        ("2010007097A", PlatformError.RUC_INVALID_FORMAT),
        ("20100 70970", PlatformError.RUC_INVALID_FORMAT),
        ("２０１０００７０９７０", PlatformError.RUC_INVALID_FORMAT),  # full-width digits
        ("30100070970", PlatformError.RUC_INVALID_PREFIX),
        ("12345678901", PlatformError.RUC_INVALID_PREFIX),
        ("20100070971", PlatformError.RUC_INVALID_CHECK_DIGIT),
        ("20601234560", PlatformError.RUC_INVALID_CHECK_DIGIT),
    ],
)
def test_bad_rucs_are_rejected_with_their_code(ruc, code):
    with pytest.raises(ValidationError) as raised:
        validate_ruc(ruc)
    assert raised.value.code == code


@pytest.mark.parametrize(
    ("first_ten", "digit"),
    [("2010007097", 0), ("2060123456", 5), ("1046172839", 7)],
)
def test_ruc_check_digit_is_sunat_modulo_11(first_ten, digit):
    assert ruc_check_digit(first_ten) == digit

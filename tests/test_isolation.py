"""Rows created in one clinic's schema are invisible from another's."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import tenant_context

from tests.conftest import graphql

pytestmark = pytest.mark.django_db


def test_rows_created_in_clinica1_are_invisible_from_clinica2(clinic1, clinic2):
    user_model = get_user_model()
    with tenant_context(clinic1):
        user_model.objects.create_user(email="solo-norte@clinica1.pe", password="x", role="DENTIST")
        assert user_model.objects.filter(email="solo-norte@clinica1.pe").exists()
    with tenant_context(clinic2):
        assert not user_model.objects.filter(email="solo-norte@clinica1.pe").exists()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM accounts_user WHERE email = %s", ["solo-norte@clinica1.pe"]
            )
            assert cursor.fetchone() == (0,)


def test_each_clinic_has_its_own_user_table(clinic1, clinic2):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'accounts_user'"
        )
        schemas = {row[0] for row in cursor.fetchall()}
    assert {"public", clinic1.schema_name, clinic2.schema_name} <= schemas


def test_same_email_can_exist_in_two_clinics(clinic1, clinic2):
    user_model = get_user_model()
    for clinic in (clinic1, clinic2):
        with tenant_context(clinic):
            user_model.objects.create_user(email="ana@example.pe", password="x", role="ADMIN")
    with tenant_context(clinic1):
        assert user_model.objects.filter(email="ana@example.pe").count() == 1


def test_the_request_schema_follows_the_host(client):
    status, body = graphql(client, "{ currentClinic { name } }", host="clinica2.localhost")
    assert status == 200
    assert body == {"data": {"currentClinic": {"name": "Dental Smile"}}}


def test_current_clinic_costs_no_query_beyond_tenant_resolution(client, django_assert_num_queries):
    # Cold routing cache (each test starts empty): one lookup of domain + clinic + plan +
    # routing version, schema-qualified, so no SET search_path; warm, it costs nothing
    # (tests/tenants_core/test_routing_cache.py). The field itself costs nothing either: the
    # clinic and its plan came with the lookup, and nothing touches the clinic's schema.
    with django_assert_num_queries(1):
        graphql(
            client,
            "{ currentClinic { name plan { code maxUsers } maxPatients } }",
            host="clinica1.localhost",
        )

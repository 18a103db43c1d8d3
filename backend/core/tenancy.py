"""One way into a clinic's data outside a request: a transaction that carries the schema.

A request gets its transaction from ``request_transaction``; management commands, background work
and tests use ``clinic_context`` (or ``public_context``). The database backend
(``backend.core.db_backend``) sets the schema as the transaction's first statement, so the
work is correct behind any pool that keeps transactions whole."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from backend.core.db_backend.connection import tenant_connection


@contextmanager
def clinic_context(clinic: Any) -> Iterator[None]:
    """Run the block in one transaction in ``clinic``'s schema; the previous schema after."""
    with tenant_context(clinic), transaction.atomic():
        yield


@contextmanager
def schema_transaction(schema_name: str) -> Iterator[None]:
    """``clinic_context`` by schema name (migrations, provisioning: no Clinic row yet)."""
    with schema_context(schema_name), transaction.atomic():
        yield


@contextmanager
def public_context() -> Iterator[None]:
    """Run the block in one transaction in the public schema."""
    with schema_transaction(get_public_schema_name()):
        yield


def request_transaction(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Run a view in one transaction, like ``ATOMIC_REQUESTS``: committed when it returns, rolled
    back when it raises. The transaction sets the clinic's schema with its first statement.

    In production the request's transaction is the outermost one. Under a test's own
    transaction it behaves the same: no savepoint (which production never sends), and its first
    statement sets the schema again, as a new transaction's would."""

    @functools.wraps(view)
    def in_transaction(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        with transaction.atomic(savepoint=False):
            tenant_connection().forget_transaction_schema()
            return view(request, *args, **kwargs)

    return in_transaction

"""The one GraphQL schema: each domain's Query and Mutation merged together."""

from __future__ import annotations

import datetime as dt
import importlib

from django.conf import settings
from strawberry.extensions import (
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry_django.optimizer import DjangoOptimizerExtension

from graphql_api.accounts.mutations import Mutation as AccountsMutation
from graphql_api.accounts.queries import Query as AccountsQuery
from graphql_api.assistant.mutations import Mutation as AssistantMutation
from graphql_api.assistant.staff_mutations import Mutation as AssistantStaffMutation
from graphql_api.assistant.staff_queries import Query as AssistantStaffQuery
from graphql_api.assistant.visitor_queries import Query as AssistantVisitorQuery
from graphql_api.audit.queries import Query as AuditQuery
from graphql_api.billing.mutations import Mutation as BillingMutation
from graphql_api.billing.queries import Query as BillingQuery
from graphql_api.branding.mutations import Mutation as BrandingMutation
from graphql_api.clinic_admin.mutations import Mutation as ClinicAdminMutation
from graphql_api.clinic_settings.mutations import Mutation as ClinicSettingsMutation
from graphql_api.clinic_settings.queries import Query as ClinicSettingsQuery
from graphql_api.clinical.mutations import Mutation as ClinicalMutation
from graphql_api.clinical.queries import Query as ClinicalQuery
from graphql_api.core.big_int import SCALAR_MAP
from graphql_api.core.compiled.extension import CompiledReads
from graphql_api.core.datetimes import DATETIME_SCALAR
from graphql_api.core.document_cache import ValidDocumentCache
from graphql_api.core.document_limits import DocumentLimits
from graphql_api.core.errors import CodedErrorsSchema
from graphql_api.core.fast_fields import install_fast_fields
from graphql_api.core.ids import install_clinic_ids
from graphql_api.core.observability import OperationLabel, PrivateOpenTelemetry
from graphql_api.core.validation import DocumentValidation
from graphql_api.dashboard.queries import Query as DashboardQuery
from graphql_api.documents.mutations import Mutation as DocumentsMutation
from graphql_api.documents.queries import Query as DocumentsQuery
from graphql_api.metrics.queries import Query as MetricsQuery
from graphql_api.notifications.mutations import Mutation as NotificationsMutation
from graphql_api.notifications.queries import Query as NotificationsQuery
from graphql_api.patients.mutations import Mutation as PatientsMutation
from graphql_api.patients.queries import Query as PatientsQuery
from graphql_api.platform.mutations import Mutation as PlatformMutation
from graphql_api.platform.queries import Query as PlatformQuery
from graphql_api.resources.mutations import Mutation as ResourcesMutation
from graphql_api.resources.queries import Query as ResourcesQuery
from graphql_api.scheduling.mutations import Mutation as SchedulingMutation
from graphql_api.scheduling.queries import Query as SchedulingQuery
from graphql_api.treatments.mutations import Mutation as TreatmentsMutation
from graphql_api.treatments.queries import Query as TreatmentsQuery

# What the compiled reads cover, declared next to each domain's types (graphql_api/core/compiled).
for _domain in (
    "accounts",
    "patients",
    "resources",
    "scheduling",
    "billing",
    "clinical",
    "treatments",
):
    importlib.import_module(f"graphql_api.{_domain}.compiled")

Query = merge_types(
    "Query",
    (
        ClinicSettingsQuery,
        AccountsQuery,
        PatientsQuery,
        ResourcesQuery,
        SchedulingQuery,
        ClinicalQuery,
        DocumentsQuery,
        TreatmentsQuery,
        BillingQuery,
        DashboardQuery,
        NotificationsQuery,
        AssistantStaffQuery,
        AssistantVisitorQuery,
        AuditQuery,
        PlatformQuery,
        MetricsQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        ClinicSettingsMutation,
        ClinicAdminMutation,
        BrandingMutation,
        AccountsMutation,
        PatientsMutation,
        ResourcesMutation,
        SchedulingMutation,
        ClinicalMutation,
        DocumentsMutation,
        TreatmentsMutation,
        BillingMutation,
        NotificationsMutation,
        AssistantMutation,
        AssistantStaffMutation,
        PlatformMutation,
    ),
)


def _tracing() -> list[type[SchemaExtension]]:
    """strawberry's spans, only when tracing is on (backend/observability/tracing.py)."""
    return [PrivateOpenTelemetry] if settings.TRACING_ENABLED else []


def _introspection() -> SchemaExtension:
    """Introspection only where it is enabled (development, by default)."""
    return SchemaExtension() if settings.GRAPHQL_INTROSPECTION else DisableIntrospection()


# CodedErrorsSchema: strawberry's Schema with one classification of every error, for the
# client (codes, masked bugs, the HTTP status) and for the log (one line per refusal)
# (core/errors.py).
schema = CodedErrorsSchema(
    query=Query,
    mutation=Mutation,
    extensions=[
        # The operation's bounded label, for the metrics and the log lines (core/observability).
        OperationLabel,
        *_tracing(),
        # Refuse abusive documents before anything runs, at a cost bounded whatever their
        # shape: one request must not be able to hold thousands of aliased logins, a query
        # nested without end, or seconds of validation (see core/document_limits).
        lambda: MaxTokensLimiter(max_token_count=settings.GRAPHQL_MAX_TOKENS),
        _introspection,
        # Parsing and validating an identical text again gives the same answer: do it once.
        # The parse cache is keyed by the text and the token limit; see core/document_cache for
        # validation. The order matters: a document known valid skips the limits and the
        # rules; the text's length is checked before the parse cache parses it.
        ValidDocumentCache,
        DocumentLimits,
        lambda: ParserCache(maxsize=256),
        DocumentValidation,
        # Covered queries: one SQL statement builds the answer; the rest runs below.
        CompiledReads,
        DjangoOptimizerExtension,
    ],
    # `first` and `last` of every connection are at most this (else INVALID_PAGINATION).
    # BigInt: byte and row counts past Int's 32 bits (core/big_int.py). DateTime: one wire
    # rule for every field, the clinic's zone to the second (core/datetimes.py).
    config=StrawberryConfig(
        relay_max_results=settings.GRAPHQL_MAX_PAGE_SIZE,
        scalar_map={**SCALAR_MAP, dt.datetime: DATETIME_SCALAR},
    ),
)


# Once, on the built schema (the SDL does not change), in this order: every ID answers with its
# clinic in it (core/ids), then the cheaper resolvers (core/fast_fields).
clinic_id_fields = install_clinic_ids(schema)
fast_fields = install_fast_fields(schema)

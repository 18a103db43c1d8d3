"""The one GraphQL schema: each domain's Query and Mutation merged together."""

from __future__ import annotations

import strawberry
from strawberry.tools import merge_types
from strawberry_django.optimizer import DjangoOptimizerExtension

from graphql_api.accounts.mutations import Mutation as AccountsMutation
from graphql_api.accounts.queries import Query as AccountsQuery
from graphql_api.audit.queries import Query as AuditQuery
from graphql_api.clinic.queries import Query as ClinicQuery
from graphql_api.platform.mutations import Mutation as PlatformMutation
from graphql_api.platform.queries import Query as PlatformQuery

Query = merge_types("Query", (ClinicQuery, AccountsQuery, AuditQuery, PlatformQuery))
Mutation = merge_types("Mutation", (AccountsMutation, PlatformMutation))

schema = strawberry.Schema(query=Query, mutation=Mutation, extensions=[DjangoOptimizerExtension])

"""The one GraphQL schema: each domain's Query (and, later, Mutation) merged together."""

from __future__ import annotations

import strawberry
from strawberry.tools import merge_types
from strawberry_django.optimizer import DjangoOptimizerExtension

from graphql_api.clinic.queries import Query as ClinicQuery

Query = merge_types("Query", (ClinicQuery,))

schema = strawberry.Schema(query=Query, extensions=[DjangoOptimizerExtension])

"""What the domain packages of the GraphQL API share (Saleor's ``graphql/core``): the typed
context, declarative permissions, error classification and logging, global ids, pagination,
input safety, document limits, caching and validation, the shared types and scalars (``Money``,
``BigInt``), docstring-described type decorators, the view, the fast-field resolvers, the
permission document, and the strawberry internals all of it relies on.

It imports no domain package and not ``graphql_api.schema``: the schema and the URLconf hand
themselves to it (``views.graphql_view(schema)``, ``permission_docs.permissions_document``)."""

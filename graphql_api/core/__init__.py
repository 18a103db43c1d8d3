"""What every domain package of the GraphQL API shares: the context, permissions, errors,
ids, pagination, input safety, document limits and validation, the view, and the
strawberry internals it relies on (Saleor's ``graphql/core``)."""

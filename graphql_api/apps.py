from django.apps import AppConfig


class GraphqlApiConfig(AppConfig):
    name = "graphql_api"
    verbose_name = "GraphQL API"

    def ready(self) -> None:
        # A persisted-documents manifest that cannot be read, or whose hashes are not its
        # documents', stops the process at start instead of failing every request.
        from graphql_api.core import persisted_documents

        persisted_documents.registry()

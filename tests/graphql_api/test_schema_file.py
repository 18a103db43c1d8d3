from pathlib import Path

from django.conf import settings

from graphql_api.management.commands.export_schema import printed_schema


def test_schema_graphql_matches_the_code():
    """Run `python manage.py export_schema` after changing the API."""
    checked_in = (Path(settings.BASE_DIR) / "schema.graphql").read_text()
    assert checked_in == printed_schema()

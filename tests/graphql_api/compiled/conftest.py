import pytest

from graphql_api.core.compiled import plans
from tests.graphql_api.compiled.world import build_world


@pytest.fixture(autouse=True)
def _fresh_plans():
    plans.clear()
    yield
    plans.clear()


@pytest.fixture
def world(clinic1, clinic2, token_for):
    return build_world(clinic1, clinic2, token_for)

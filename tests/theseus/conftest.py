import pytest
from theseus_fixtures import tiny_classifier


@pytest.fixture
def predecessor():
    return tiny_classifier()

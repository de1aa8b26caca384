import pytest

from tests.unit.data.support import data_env  # noqa: F401


@pytest.fixture(autouse=True)
def _data_env(data_env):
    yield data_env

import pytest

from service.sources.repositories import add_repository
from tests.helpers.git import make_remote
from tests.helpers.job_sources import SELF_REGISTERING


@pytest.fixture
def remote(tmp_path):
    """A working repository and a bare remote holding a `jobs` package with Hello and World."""
    return make_remote(tmp_path / "git", SELF_REGISTERING)


@pytest.fixture
def repository(runtime, remote):
    _, bare = remote
    with runtime.db.session() as session:
        return add_repository(session, runtime.settings, name="Demo", slug="demo", remote_url=str(bare))

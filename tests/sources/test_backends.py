"""Every data backend syncs, pins runs and keeps versions the same way; git is one of them."""

import pytest

from repos.backends import LocalDirectoryBackend, content_hash
from service.errors import ValidationError
from service.models import GitRepository, JobResult, Status
from service.runs.requests import enqueue_job
from service.sources.repositories import add_repository
from service.sources.sync import SyncFailed, sync_repository
from service.worker.engine import run_job_result
from tests.helpers.git import write_files
from tests.helpers.job_sources import SELF_REGISTERING, job_module
from tests.helpers.sync import jobs_by_path, repository_row

HELLO = "folder/jobs.hello/Hello"


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "folder"
    write_files(root, SELF_REGISTERING)
    return root


@pytest.fixture
def local_repository(runtime, folder):
    with runtime.db.session() as session:
        return add_repository(
            session,
            runtime.settings,
            name="Folder",
            slug="folder",
            backend="local",
            backend_parameters={"path": str(folder)},
        )


def test_the_local_backend_versions_by_content_and_reconciles_like_git(runtime, local_repository, folder):
    sync_repository(runtime, local_repository.id)
    first = content_hash(folder)
    assert repository_row(runtime, local_repository.id).current_head == first
    assert {job.commit for job in jobs_by_path(runtime).values()} == {first}

    with runtime.db.session() as session:
        hello = session.get(type(jobs_by_path(runtime)[HELLO]), jobs_by_path(runtime)[HELLO].id)
        hello.enabled = True
        pinned = enqueue_job(session, hello, {"who": "v1"}, known_queues=runtime.settings.all_queues).id

    (folder / "jobs" / "world.py").unlink()
    write_files(
        folder,
        {
            "jobs/__init__.py": "from . import hello\n",
            "jobs/hello.py": job_module("Hello").replace("'Hello '", "'Hi '"),
        },
    )
    summary = sync_repository(runtime, local_repository.id)
    assert summary["removed"] == ["folder/jobs.world/World"]
    assert summary["new_head"] == content_hash(folder) != first

    run_job_result(runtime, str(pinned))  # requested at the first version: runs that code
    with runtime.db.session() as session:
        result = session.get(JobResult, pinned)
        assert (result.status, result.commit, result.result) == (Status.SUCCESS, first, "Hello v1")


def test_the_local_backend_is_refused_unless_local_repositories_are_allowed(settings, folder):
    from service.bootstrap import configure

    runtime = configure(settings.replace(allow_local_repositories=False))
    with runtime.db.session() as session:
        repository = add_repository(
            session,
            runtime.settings,
            name="Folder",
            backend="local",
            backend_parameters={"path": str(folder)},
        )
    with pytest.raises(SyncFailed, match="not allowed"):
        sync_repository(runtime, repository.id)


def test_backend_parameters_are_validated_naming_the_parameter(runtime):
    with runtime.db.session() as session, pytest.raises(ValidationError) as caught:
        add_repository(session, runtime.settings, name="X", backend="local", backend_parameters={"nope": 1})
    assert set(caught.value.fields) == {"backend_parameters.path", "backend_parameters.nope"}


def test_an_unknown_backend_fails_the_sync_clearly_and_leaves_the_jobs(runtime, local_repository):
    sync_repository(runtime, local_repository.id)
    before = {path: job.commit for path, job in jobs_by_path(runtime).items()}
    with runtime.db.session() as session:
        session.get(GitRepository, local_repository.id).backend = "removed_extension_backend"
    with pytest.raises(SyncFailed, match="No data backend named 'removed_extension_backend'"):
        sync_repository(runtime, local_repository.id)
    assert {path: job.commit for path, job in jobs_by_path(runtime).items()} == before
    assert all(job.installed for job in jobs_by_path(runtime).values())
    assert repository_row(runtime, local_repository.id).sync_status == "failed"


def test_backend_parameters_are_declared_like_job_variables():
    assert list(LocalDirectoryBackend.parameter_variables()) == ["path"]

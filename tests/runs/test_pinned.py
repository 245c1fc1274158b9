"""Choosing the commit a run executes: only commits the job's repository synced, by full or short sha."""

import pytest
from sqlalchemy import select

from service.errors import ValidationError
from service.models import GitRepository, Job, JobResult
from service.runs.pinned import SYNC_RUNNER, resolve_source_commit
from service.runs.requests import enqueue_job
from service.sources.sync import SyncRepository
from tests.helpers.factories import make_job, make_result

OLD, CURRENT, DRY = "a1" * 20, "b2" * 20, "c3" * 20


@pytest.fixture
def job(runtime):
    with runtime.db.session() as session:
        repository = GitRepository(name="Demo", slug="demo", remote_url="/srv/demo.git", current_head=CURRENT)
        session.add(repository)
        session.flush()
        job = make_job(session, source="git", repository_id=repository.id, commit=CURRENT)
        for head, dryrun in ((OLD, False), (DRY, True)):
            session.add(
                JobResult(
                    name="Sync repository",
                    class_path=SYNC_RUNNER,
                    runner=SYNC_RUNNER,
                    queue="default",
                    object_type="git_repositories",
                    object_id=str(repository.id),
                    result={"new_head": head, "dryrun": dryrun},
                )
            )
        return job.id


def test_the_sync_runner_name_is_the_one_syncs_are_stored_under():
    assert SyncRepository.runner_name == SYNC_RUNNER


def test_a_short_sha_of_a_synced_commit_pins_the_run_to_it(runtime, job):
    with runtime.db.session() as session:
        result = enqueue_job(
            session, session.get(Job, job), {}, known_queues=("default",), source_commit=OLD[:8]
        )
        assert result.commit == OLD


@pytest.mark.parametrize("ref", [DRY, "d4" * 20, "not-a-sha", "a1"])
def test_a_commit_never_synced_or_not_a_sha_is_refused_naming_source_commit(runtime, job, ref):
    with runtime.db.session() as session, pytest.raises(ValidationError) as raised:
        resolve_source_commit(session, session.get(Job, job), ref)
    assert list(raised.value.fields) == ["source_commit"]


def test_a_commit_a_past_run_used_counts_as_synced(runtime, job):
    with runtime.db.session() as session:
        make_result(session, session.get(Job, job), commit="e5" * 20)
        assert resolve_source_commit(session, session.get(Job, job), "e5e5e5") == "e5" * 20


def test_a_job_not_from_git_cannot_be_pinned(runtime):
    with runtime.db.session() as session:
        system_job = make_job(session)
        with pytest.raises(ValidationError):
            resolve_source_commit(session, system_job, OLD)
        assert session.scalars(select(JobResult)).all() == []

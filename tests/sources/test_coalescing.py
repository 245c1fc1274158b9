"""Sync requests for a repository with a sync already waiting coalesce into that one."""

from sqlalchemy import func, select

from service.models import JobResult, Status
from service.sources.sync import request_sync
from service.worker.engine import run_job_result
from tests.helpers.git import commit, head, push, write_files
from tests.helpers.sync import repository_row


def test_requests_while_a_sync_waits_coalesce_and_it_syncs_the_newest_commit(runtime, repository, remote):
    work, _ = remote
    with runtime.db.session() as session:
        first = request_sync(session, repository).id
    write_files(work, {"NOTES.md": "pushed while the sync waited\n"})
    newest = commit(work)
    push(work, "main")
    with runtime.db.session() as session:
        ids = {request_sync(session, repository).id for _ in range(5)}
        waiting = session.scalar(
            select(func.count()).select_from(JobResult).where(JobResult.status == Status.PENDING)
        )
    assert ids == {first} and waiting == 1

    run_job_result(runtime, str(first))
    assert repository_row(runtime, repository.id).current_head == newest == head(work)
    with runtime.db.session() as session:
        assert session.get(JobResult, first).status == Status.SUCCESS
        assert request_sync(session, repository).id != first  # once it ran, a new request queues a new sync


def test_a_dry_run_sync_reports_without_coalescing_into_a_real_one(runtime, repository):
    with runtime.db.session() as session:
        real = request_sync(session, repository).id
        dry = request_sync(session, repository, dryrun=True).id
    assert dry != real
    run_job_result(runtime, str(dry))
    with runtime.db.session() as session:
        result = session.get(JobResult, dry)
        assert result.status == Status.SUCCESS and result.result["dryrun"] is True
        assert len(result.result["added"]) == 2
    assert repository_row(runtime, repository.id).current_head is None

"""Every run executes exactly the code of the commit it was requested at."""

import shutil

from sqlalchemy import select, text

from service import bootstrap
from service.jobs.runner import runner_path
from service.models import Base, Job, JobResult, Status
from service.runs.requests import enqueue_job
from service.sources.repositories import add_repository
from service.sources.sync import SyncRepository, sync_repository
from service.worker.engine import run_job_result
from tests.helpers.git import commit, head, push, write_files
from tests.helpers.job_sources import job_module

HELLO = "demo/jobs.hello/Hello"


def enable(runtime, class_path):
    with runtime.db.session() as session:
        session.scalar(select(Job).where(Job.class_path == class_path)).enabled = True


def enqueue(runtime, class_path, data):
    with runtime.db.session() as session:
        job = session.scalar(select(Job).where(Job.class_path == class_path))
        return enqueue_job(session, job, data, known_queues=runtime.settings.all_queues).id


def result_of(runtime, result_id):
    run_job_result(runtime, str(result_id))
    with runtime.db.session() as session:
        return session.get(JobResult, result_id)


def test_a_run_requested_before_a_sync_runs_the_old_commit_even_after_the_repository_moved_on(
    runtime, repository, remote
):
    work, _ = remote
    sync_repository(runtime, repository.id)
    enable(runtime, HELLO)
    old = head(work)
    pinned_to_old = enqueue(runtime, HELLO, {"who": "old"})

    write_files(
        work, {"jobs/hello.py": job_module("Hello").replace("return 'Hello ' + who", "return 'NEW ' + who")}
    )
    new = commit(work)
    push(work, "main")
    sync_repository(runtime, repository.id)
    pinned_to_new = enqueue(runtime, HELLO, {"who": "new"})

    # Lose the old checkout, as on another machine: the worker materialises it again.
    old_checkout = runtime.settings.data_path / "repos" / "demo" / old
    for path in [old_checkout, *old_checkout.rglob("*")]:
        path.chmod(0o755)
    shutil.rmtree(old_checkout)

    first, second = result_of(runtime, pinned_to_old), result_of(runtime, pinned_to_new)
    assert (first.status, first.commit, first.result) == (Status.SUCCESS, old, "Hello old")
    assert (second.status, second.commit, second.result) == (Status.SUCCESS, new, "NEW new")
    # And back again in the same worker process: the old commit's code, not the cached new one.
    assert result_of(runtime, enqueue_run_at(runtime, HELLO, old)).result == "Hello again"


def enqueue_run_at(runtime, class_path, commit_sha):
    result_id = enqueue(runtime, class_path, {"who": "again"})
    with runtime.db.session() as session:
        session.get(JobResult, result_id).commit = commit_sha
    return result_id


def test_a_failing_sync_with_a_token_shows_the_token_nowhere(settings, monkeypatch, tmp_path):
    token = "ghp_" + "S3cretT0ken" * 4
    monkeypatch.setenv("JOBSYNC_TEST_GIT_TOKEN", token)
    runtime = bootstrap.configure(settings.replace(credentials={
        "ci": {"secret": "env:JOBSYNC_TEST_GIT_TOKEN", "hosts": ["127.0.0.1"]}}))
    with runtime.db.session() as session:
        repository = add_repository(
            session,
            runtime.settings,
            name="Private",
            remote_url="https://127.0.0.1:9/team/jobs.git",
            credentials="ci",
        )
        path = runner_path(SyncRepository)
        sync_result = JobResult(
            runner=path,
            name="Sync repository",
            class_path=path,
            queue="default",
            input_data={"args": [str(repository.id)], "kwargs": {}},
        )
        session.add(sync_result)
    result = result_of(runtime, sync_result.id)
    assert result.status == Status.FAILURE and "Fetch failed" in result.error

    with runtime.db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(table.select()):
                assert token not in str(tuple(row)), table.name
        assert connection.execute(text("SELECT count(*) FROM job_log_entries")).scalar() > 0
    for path in runtime.settings.data_path.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path


def test_a_repository_still_holding_an_old_reference_fails_its_sync_telling_the_admin_what_to_do(
        runtime, monkeypatch):
    """As the migration leaves them: the reference is never resolved, so nothing is sent anywhere."""
    monkeypatch.setenv("JOBSYNC_TEST_GIT_TOKEN", "ghp_never-sent")
    with runtime.db.session() as session:
        repository = add_repository(session, runtime.settings, name="Old",
                                    remote_url="https://127.0.0.1:9/team/jobs.git")
        repository.credentials = "env:JOBSYNC_TEST_GIT_TOKEN"
        path = runner_path(SyncRepository)
        sync_result = JobResult(runner=path, name="Sync repository", class_path=path, queue="default",
                                input_data={"args": [str(repository.id)], "kwargs": {}})
        session.add(sync_result)
    result = result_of(runtime, sync_result.id)
    assert result.status == Status.FAILURE and "named credential" in result.error
    assert "ghp_never-sent" not in result.error

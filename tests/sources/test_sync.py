"""Syncing real git repositories into Job rows."""

import pytest
from sqlalchemy import select

from service.models import Job, JobButton, JobHook, ScheduledJob, utcnow
from service.sources.sync import SyncFailed, sync_repository
from tests.helpers.git import commit, delete_remote_branch, git, head, orphan_commit, push, write_files
from tests.helpers.job_sources import job_module
from tests.helpers.sync import jobs_by_path, repository_row

HELLO, WORLD = "demo/jobs.hello/Hello", "demo/jobs.world/World"


def test_a_first_sync_adds_every_job_disabled_and_pinned_to_the_head(runtime, repository, remote):
    work, _ = remote
    summary = sync_repository(runtime, repository.id)
    jobs = jobs_by_path(runtime)
    assert set(jobs) == {HELLO, WORLD} and sorted(summary["added"]) == [HELLO, WORLD]
    assert all(not job.enabled and job.installed and job.commit == head(work) for job in jobs.values())
    assert jobs[HELLO].variables[0]["name"] == "who"
    row = repository_row(runtime, repository.id)
    assert (row.current_head, row.sync_status) == (head(work), "completed")


def test_changed_metadata_updates_unless_an_admin_overrode_it(runtime, repository, remote):
    work, _ = remote
    sync_repository(runtime, repository.id)
    with runtime.db.session() as session:
        world = session.scalar(select(Job).where(Job.class_path == WORLD))
        world.name, world.name_override = "Admin's name", True
    write_files(
        work,
        {
            "jobs/hello.py": job_module("Hello", name="Hello v2"),
            "jobs/world.py": job_module("World", name="World v2"),
        },
    )
    commit(work)
    push(work, "main")
    summary = sync_repository(runtime, repository.id)
    jobs = jobs_by_path(runtime)
    assert jobs[HELLO].name == "Hello v2"
    assert jobs[WORLD].name == "Admin's name"
    assert summary["updated"] == [HELLO]


def test_a_removed_class_is_uninstalled_never_deleted_and_comes_back_with_its_flags(
    runtime, repository, remote
):
    work, _ = remote
    sync_repository(runtime, repository.id)
    with runtime.db.session() as session:
        world = session.scalar(select(Job).where(Job.class_path == WORLD))
        world.enabled = True
        session.add_all(
            [
                JobHook(name="h", content_types=["dcim.device"], job=world, type_create=True),
                JobButton(name="b", content_types=["dcim.device"], job=world, text="Go"),
                ScheduledJob(name="s", job=world, start_time=utcnow()),
            ]
        )
    (work / "jobs" / "world.py").unlink()
    write_files(work, {"jobs/__init__.py": "from . import hello\n"})
    commit(work)
    push(work, "main")
    assert sync_repository(runtime, repository.id)["removed"] == [WORLD]
    jobs = jobs_by_path(runtime)
    assert not jobs[WORLD].installed and jobs[WORLD].enabled
    with runtime.db.session() as session:
        assert not session.scalar(select(JobHook)).enabled
        assert not session.scalar(select(JobButton)).enabled
        schedule = session.scalar(select(ScheduledJob))
        assert not schedule.enabled and "removed" in schedule.disabled_reason

    write_files(
        work, {"jobs/__init__.py": "from . import hello, world\n", "jobs/world.py": job_module("World")}
    )
    commit(work)
    push(work, "main")
    assert sync_repository(runtime, repository.id)["reinstalled"] == [WORLD]
    world = jobs_by_path(runtime)[WORLD]
    assert world.installed and world.enabled


def test_a_force_push_to_unrelated_history_syncs_to_the_new_head(runtime, repository, remote):
    work, _ = remote
    sync_repository(runtime, repository.id)
    new_head = orphan_commit(
        work, {"jobs/__init__.py": "from . import hello\n", "jobs/hello.py": job_module("Hello")}
    )
    push(work, "main", force=True)
    summary = sync_repository(runtime, repository.id)
    assert summary["new_head"] == new_head and summary["removed"] == [WORLD]


def test_a_deleted_branch_fails_the_sync_and_changes_nothing(runtime, repository, remote):
    work, _ = remote
    sync_repository(runtime, repository.id)
    old_head = head(work)
    git(work, "push", "--quiet", "origin", "main:other")  # a remote must keep at least one branch
    delete_remote_branch(work, "main")
    with pytest.raises(SyncFailed, match="main"):
        sync_repository(runtime, repository.id)
    row = repository_row(runtime, repository.id)
    assert row.current_head == old_head
    assert row.sync_status == "failed" and row.sync_error
    assert all(job.installed for job in jobs_by_path(runtime).values())


def test_an_unreachable_remote_fails_the_sync_with_a_clear_error(runtime, tmp_path):
    from service.sources.repositories import add_repository

    with runtime.db.session() as session:
        repository = add_repository(
            session, runtime.settings, name="Gone", remote_url=str(tmp_path / "nope.git")
        )
    with pytest.raises(SyncFailed, match="Fetch failed"):
        sync_repository(runtime, repository.id)
    assert repository_row(runtime, repository.id).sync_status == "failed"


def test_a_syntax_error_in_one_module_keeps_its_jobs_on_their_last_good_commit(runtime, repository, remote):
    work, _ = remote
    sync_repository(runtime, repository.id)
    good = head(work)
    write_files(work, {"jobs/world.py": "def broken(:\n", "jobs/hello.py": job_module("Hello", name="Hi")})
    write_files(work, {"jobs/__init__.py": "from . import hello\nfrom . import world\n"})
    commit(work)
    push(work, "main")
    with pytest.raises(SyncFailed, match="Partial sync"):
        sync_repository(runtime, repository.id)
    jobs = jobs_by_path(runtime)
    assert jobs[HELLO].name == "Hi" and jobs[HELLO].commit == head(work)
    assert jobs[WORLD].installed and jobs[WORLD].commit == good and "SyntaxError" in jobs[WORLD].import_error
    row = repository_row(runtime, repository.id)
    assert (row.current_head, row.sync_status) == (head(work), "partial")


def test_a_module_that_registers_its_job_and_then_raises_keeps_it_on_the_last_good_commit(
    runtime, repository, remote
):
    work, _ = remote
    sync_repository(runtime, repository.id)
    good = head(work)
    write_files(
        work, {"jobs/world.py": job_module("World", name="Broken World") + "raise RuntimeError('late')\n"}
    )
    commit(work)
    push(work, "main")
    with pytest.raises(SyncFailed, match="Partial sync"):
        sync_repository(runtime, repository.id)
    jobs = jobs_by_path(runtime)
    assert (jobs[WORLD].commit, jobs[WORLD].name, jobs[WORLD].installed) == (good, "World", True)
    assert "late" in jobs[WORLD].import_error and jobs[HELLO].commit == head(work)


def test_a_broken_jobs_package_changes_nothing_and_keeps_the_last_good_head(runtime, repository, remote):
    work, _ = remote
    sync_repository(runtime, repository.id)
    good = head(work)
    write_files(work, {"jobs/__init__.py": "this is not python\n"})
    commit(work)
    push(work, "main")
    with pytest.raises(SyncFailed, match="failed to import"):
        sync_repository(runtime, repository.id)
    row = repository_row(runtime, repository.id)
    assert row.current_head == good and row.sync_status == "failed"
    assert {job.commit for job in jobs_by_path(runtime).values()} == {good}


def test_a_module_that_hangs_at_import_is_killed_at_the_timeout(settings, remote, tmp_path):
    from service.bootstrap import configure
    from service.sources.repositories import add_repository

    runtime = configure(settings.replace(discovery_timeout_seconds=2))
    work, bare = remote
    write_files(work, {"jobs/world.py": "import threading\nthreading.Event().wait()\n"})
    commit(work)
    push(work, "main")
    with runtime.db.session() as session:
        repository = add_repository(session, runtime.settings, name="Hangs", remote_url=str(bare))
    with pytest.raises(SyncFailed, match="did not finish within 2 s while importing hangs.jobs.world"):
        sync_repository(runtime, repository.id)
    assert repository_row(runtime, repository.id).current_head is None


def test_a_dry_run_reports_the_diff_and_changes_nothing(runtime, repository):
    summary = sync_repository(runtime, repository.id, dryrun=True)
    assert sorted(summary["added"]) == [HELLO, WORLD]
    assert jobs_by_path(runtime) == {}
    assert repository_row(runtime, repository.id).current_head is None


def test_a_resync_at_the_same_head_stops_before_checkout_and_discovery(runtime, repository):
    sync_repository(runtime, repository.id)
    directory = runtime.settings.data_path / "repos" / "demo"
    checkout = next(p for p in directory.iterdir() if len(p.name) == 40)
    checkout.chmod(0o755)
    for path in sorted(checkout.rglob("*"), reverse=True):
        path.chmod(0o755)
        path.unlink() if path.is_file() else path.rmdir()
    checkout.rmdir()  # if the resync checked out or discovered, this directory would come back
    summary = sync_repository(runtime, repository.id)
    assert summary["changed"] is False
    assert not checkout.exists()


def test_a_jobs_concurrency_key_limit_and_policy_are_synced_onto_its_row(runtime, repository, remote):
    work, _ = remote
    keyed = job_module("Hello").replace(
        "        name = 'Hello'\n",
        "        name = 'Hello'\n        concurrency_key = 'who:{who}'\n"
        "        concurrency_limit = 2\n        concurrency_policy = 'skip'\n",
    )
    write_files(work, {"jobs/hello.py": keyed})
    commit(work)
    push(work, "main")
    sync_repository(runtime, repository.id)
    hello = jobs_by_path(runtime)[HELLO]
    stored = (hello.concurrency_key, hello.concurrency_limit, hello.concurrency_policy)
    assert stored == ("who:{who}", 2, "skip")


def test_a_jobs_retry_policy_is_synced_onto_its_row(runtime, repository, remote):
    work, _ = remote
    retried = job_module("Hello").replace(
        "        name = 'Hello'\n",
        "        name = 'Hello'\n        retries = 3\n        retry_backoff = {'base': 2, 'factor': 4}\n"
        "        retry_on = (TimeoutError,)\n",
    )
    write_files(work, {"jobs/hello.py": retried})
    commit(work)
    push(work, "main")
    sync_repository(runtime, repository.id)
    hello = jobs_by_path(runtime)[HELLO]
    assert hello.retries == 3 and hello.retry_on == ["builtins.TimeoutError"]
    assert (hello.retry_backoff["base"], hello.retry_backoff["factor"]) == (2.0, 4.0)


def chained(class_name: str, next_path: str) -> str:
    return job_module(class_name).replace(
        f"        name = {class_name!r}\n",
        f"        name = {class_name!r}\n        on_success_run = {next_path!r}\n",
    )


def test_a_chain_loop_is_refused_at_sync_as_an_error_of_the_module_closing_it(runtime, repository, remote):
    work, _ = remote
    write_files(work, {"jobs/hello.py": chained("Hello", WORLD)})  # Hello → World, no loop yet
    commit(work)
    push(work, "main")
    sync_repository(runtime, repository.id)
    assert jobs_by_path(runtime)[HELLO].on_success_run == [WORLD]
    write_files(work, {"jobs/world.py": chained("World", HELLO)})  # World → Hello closes the loop
    commit(work)
    push(work, "main")
    with pytest.raises(SyncFailed, match="failed to import"):
        sync_repository(runtime, repository.id)
    assert jobs_by_path(runtime)[WORLD].on_success_run is None  # kept as it was
    assert "Run chain loop" in (repository_row(runtime, repository.id).sync_error or "")

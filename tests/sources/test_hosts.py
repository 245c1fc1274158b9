"""Workers on many hosts share only the database, the broker and the git remote, never a disk.

Each simulated host is a runtime on the test database with a data dir of its own; the repository
fixture's remote is a real bare git repository.
"""

import threading

from sqlalchemy import select

from repos.checkouts import remove_tree
from service.models import GitRepository, Job, Status
from service.runs.requests import enqueue_job
from service.sources.cleanup import clean_host
from service.sources.repositories import add_repository, get_repository, remove_repository
from service.sources.sync import request_sync, sync_repository
from tests.helpers.git import commit, git, head, orphan_commit, push, write_files
from tests.helpers.hosts import HangingListener, enable, enqueue, host, run_on
from tests.helpers.job_sources import SELF_REGISTERING, job_module
from tests.helpers.servers import wait_until
from tests.helpers.sync import repository_row

HELLO = "demo/jobs.hello/Hello"


def synced(runtime, repository):
    sync_repository(runtime, repository.id)
    enable(runtime, HELLO)


def test_a_worker_with_an_empty_data_dir_fetches_the_mirror_and_runs_the_pinned_commit(
    runtime, repository, remote, tmp_path
):
    work, _ = remote
    synced(runtime, repository)  # on the web host
    worker = host(runtime, tmp_path / "worker-1")

    result = run_on(worker, enqueue(runtime, HELLO, {"who": "fresh"}))

    assert (result.status, result.result, result.commit) == (Status.SUCCESS, "Hello fresh", head(work))
    assert (tmp_path / "worker-1" / "repos" / "demo" / "mirror.git").is_dir()
    assert (tmp_path / "worker-1" / "repos" / "demo" / head(work)).is_dir()


def test_a_worker_whose_data_dir_was_wiped_fetches_again_and_keeps_running(runtime, repository, tmp_path):
    synced(runtime, repository)
    worker = host(runtime, tmp_path / "worker-1")
    assert run_on(worker, enqueue(runtime, HELLO, {"who": "before"})).status == Status.SUCCESS

    remove_tree(tmp_path / "worker-1")  # a replaced disk, while the worker process stays up

    result = run_on(worker, enqueue(runtime, HELLO, {"who": "after"}))
    assert (result.status, result.result) == (Status.SUCCESS, "Hello after")


def test_two_hosts_run_two_commits_side_by_side_each_at_its_pin(runtime, repository, remote, tmp_path):
    work, _ = remote
    synced(runtime, repository)
    old = head(work)
    write_files(work, {"jobs/hello.py": job_module("Hello").replace("'Hello ' + who", "'NEW ' + who")})
    new = commit(work)
    push(work, "main")
    sync_repository(runtime, repository.id)
    first, second = host(runtime, tmp_path / "one"), host(runtime, tmp_path / "two")

    at_old = run_on(first, enqueue(runtime, HELLO, {"who": "x"}, commit=old))
    at_new = run_on(second, enqueue(runtime, HELLO, {"who": "x"}))

    assert (at_old.result, at_old.commit) == ("Hello x", old)
    assert (at_new.result, at_new.commit) == ("NEW x", new)


def test_a_run_at_a_chosen_older_commit_runs_that_commits_code_on_a_fresh_host(
    runtime, repository, remote, tmp_path
):
    work, _ = remote
    queued_sync(runtime, repository)
    enable(runtime, HELLO)
    old = head(work)
    write_files(work, {"jobs/hello.py": job_module("Hello").replace("'Hello ' + who", "'NEW ' + who")})
    commit(work)
    push(work, "main")
    queued_sync(runtime, repository)
    with runtime.db.session() as session:
        job = session.scalar(select(Job).where(Job.class_path == HELLO))
        chosen = enqueue_job(session, job, {"who": "x"}, known_queues=("default",), source_commit=old[:10]).id

    result = run_on(host(runtime, tmp_path / "fresh"), chosen)

    assert (result.status, result.commit, result.result) == (Status.SUCCESS, old, "Hello x")


def queued_sync(runtime, repository):
    """Sync through the SyncRepository runner, as a worker does, so its result records the head."""
    with runtime.db.session() as session:
        sync_id = request_sync(session, repository).id
    assert run_on(runtime, sync_id).status == Status.SUCCESS


def test_a_pinned_commit_force_pushed_away_fails_the_run_at_once_saying_so(
    runtime, repository, remote, tmp_path
):
    work, _ = remote
    synced(runtime, repository)
    pinned = enqueue(runtime, HELLO, {"who": "gone"})
    orphan_commit(work, SELF_REGISTERING | {"NOTES.md": "rewritten\n"})
    push(work, "main", force=True)

    result = run_on(host(runtime, tmp_path / "fresh"), pinned)

    assert result.status == Status.FAILURE
    assert "force-pushed" in result.error and "fetch the repository first" not in result.error


def test_a_hanging_remote_fails_a_run_after_the_run_fetch_timeout_with_an_honest_message(
    runtime, repository, tmp_path
):
    synced(runtime, repository)
    pinned = enqueue(runtime, HELLO, {"who": "stuck"})
    with HangingListener() as listener:
        with runtime.db.session() as session:
            session.get(GitRepository, repository.id).remote_url = listener.url
        worker = host(runtime, tmp_path / "fresh", run_fetch_timeout_seconds=1)

        result = run_on(worker, pinned)

    assert result.status == Status.FAILURE
    assert "timed out after 1 s" in result.error and "not available on this host" in result.error


def test_a_hanging_fetch_does_not_hold_up_runs_of_commits_the_host_already_has(runtime, repository, tmp_path):
    synced(runtime, repository)
    worker = host(runtime, tmp_path / "worker", run_fetch_timeout_seconds=30)
    assert run_on(worker, enqueue(runtime, HELLO, {"who": "warm"})).status == Status.SUCCESS
    missing = enqueue(runtime, HELLO, {"who": "missing"}, commit="f" * 40)
    with HangingListener() as listener:
        with runtime.db.session() as session:
            session.get(GitRepository, repository.id).remote_url = listener.url
        stuck = threading.Thread(target=run_on, args=(worker, missing))
        stuck.start()
        assert listener.connected.wait(30)  # the fetch for the missing commit is hanging now

        warm = run_on(worker, enqueue(runtime, HELLO, {"who": "meanwhile"}))

        assert warm.result == "Hello meanwhile" and stuck.is_alive()
    stuck.join(60)


def test_an_older_sync_finishing_after_a_newer_one_does_not_roll_the_repository_back(
    runtime, repository, remote, tmp_path, monkeypatch
):
    work, _ = remote
    older = head(work)
    slow, fast = (host(runtime, tmp_path / name, sync_lock_seconds=1) for name in ("slow", "fast"))
    in_discovery, resume = _pause_discovery_in(monkeypatch, "slow-sync")
    failures = []
    slow_sync = threading.Thread(
        target=_capture(failures, sync_repository, slow, repository.id), name="slow-sync"
    )
    slow_sync.start()
    assert in_discovery.wait(30)  # it fetched `older` and is discovering it
    write_files(work, {"NOTES.md": "newer\n"})
    newer = commit(work)
    push(work, "main")

    sync_repository(fast, repository.id)  # takes over the slow sync's expired lease
    resume.set()
    slow_sync.join(60)

    assert not failures
    assert repository_row(runtime, repository.id).current_head == newer != older
    with runtime.db.session() as session:
        assert set(session.scalars(select(Job.commit))) == {newer}


def test_a_branch_reset_to_an_older_commit_is_followed_by_the_next_sync(runtime, repository, remote):
    work, _ = remote
    first = head(work)
    commit(work, "second")
    push(work, "main")
    sync_repository(runtime, repository.id)
    git(work, "reset", "--quiet", "--hard", first)
    push(work, "main", force=True)

    sync_repository(runtime, repository.id)  # nothing else ran meanwhile: the branch really moved back

    assert repository_row(runtime, repository.id).current_head == first


def test_two_syncs_adding_the_same_jobs_at_once_leave_one_row_each_and_no_error(
    runtime, repository, remote, tmp_path, monkeypatch
):
    work, _ = remote
    barrier = threading.Barrier(2, timeout=30)
    original = _real_discover()
    monkeypatch.setattr(
        "service.sources.sync.discover",
        lambda *args, **kwargs: (original(*args, **kwargs), barrier.wait())[0],
    )
    failures = []
    threads = [
        threading.Thread(
            target=_capture(
                failures, sync_repository, host(runtime, tmp_path / n, sync_lock_seconds=1), repository.id
            )
        )
        for n in ("one", "two")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert not failures
    with runtime.db.session() as session:
        assert sorted(session.scalars(select(Job.class_path))) == [
            "demo/jobs.hello/Hello",
            "demo/jobs.world/World",
        ]
    assert repository_row(runtime, repository.id).current_head == head(work)


def test_a_second_sync_waits_for_the_running_one_then_ends_at_the_newest_commit(
    runtime, repository, remote, tmp_path, monkeypatch
):
    work, _ = remote
    in_discovery, resume = _pause_discovery_in(monkeypatch, "first-sync")
    first = threading.Thread(
        target=sync_repository, args=(host(runtime, tmp_path / "a"), repository.id), name="first-sync"
    )
    first.start()
    assert in_discovery.wait(30)
    write_files(work, {"NOTES.md": "newer\n"})
    newest = commit(work)
    push(work, "main")
    waiting = _RecordingLogger()
    second = threading.Thread(
        target=sync_repository,
        args=(host(runtime, tmp_path / "b"), repository.id),
        kwargs={"logger": waiting},
    )
    second.start()
    wait_until(lambda: any("waiting" in line for line in waiting.lines), timeout=30,
               message="the second sync to wait")

    assert repository_row(runtime, repository.id).current_head is None  # it waits; nothing applied yet
    resume.set()
    first.join(60)
    second.join(60)
    assert repository_row(runtime, repository.id).current_head == newest


def test_each_worker_prunes_its_own_checkouts_and_deleted_repositories_files(
    runtime, repository, remote, tmp_path
):
    work, _ = remote
    synced(runtime, repository)
    old = head(work)
    worker = host(runtime, tmp_path / "job-only", keep_checkouts=1)
    assert run_on(worker, enqueue(runtime, HELLO, {"who": "old"})).status == Status.SUCCESS
    write_files(work, {"NOTES.md": "moved on\n"})
    new = commit(work)
    push(work, "main")
    sync_repository(runtime, repository.id)
    assert run_on(worker, enqueue(runtime, HELLO, {"who": "new"})).status == Status.SUCCESS
    checkouts = tmp_path / "job-only" / "repos" / "demo"
    assert (checkouts / old).is_dir()

    report = clean_host(worker)

    assert (
        report["pruned"] == [f"demo/{old}"] and not (checkouts / old).exists() and (checkouts / new).is_dir()
    )
    with runtime.db.session() as session:
        remove_repository(session, runtime.settings, get_repository(session, "demo"))  # on the web host
    assert clean_host(worker)["removed"] == ["demo"] and not checkouts.exists()


def test_a_checkout_a_waiting_run_is_pinned_to_survives_cleanup(runtime, repository, remote, tmp_path):
    work, _ = remote
    synced(runtime, repository)
    old = head(work)
    worker = host(runtime, tmp_path / "job-only", keep_checkouts=1)
    assert run_on(worker, enqueue(runtime, HELLO, {"who": "old"})).status == Status.SUCCESS
    enqueue(runtime, HELLO, {"who": "still waiting"})  # pinned to `old`
    write_files(work, {"NOTES.md": "moved on\n"})
    commit(work)
    push(work, "main")
    sync_repository(runtime, repository.id)
    assert run_on(worker, enqueue(runtime, HELLO, {"who": "new"})).status == Status.SUCCESS

    clean_host(worker)

    assert (tmp_path / "job-only" / "repos" / "demo" / old).is_dir()


def test_a_repository_added_again_with_a_removed_ones_slug_syncs_its_jobs(runtime, repository, remote):
    _, bare = remote
    synced(runtime, repository)
    with runtime.db.session() as session:
        remove_repository(session, runtime.settings, get_repository(session, "demo"))
    with runtime.db.session() as session:
        again = add_repository(
            session, runtime.settings, name="Demo again", slug="demo", remote_url=str(bare)
        )

    sync_repository(runtime, again.id)

    with runtime.db.session() as session:
        jobs = list(session.scalars(select(Job)))
        assert {(job.class_path, job.installed, job.enabled, job.repository_id) for job in jobs} == {
            ("demo/jobs.hello/Hello", True, False, again.id),
            ("demo/jobs.world/World", True, False, again.id),
        }


# --- helpers ------------------------------------------------------------------------------


def _real_discover():
    import service.sources.sync

    return service.sources.sync.discover


def _pause_discovery_in(monkeypatch, thread_name):
    """Make discovery in the thread named ``thread_name`` wait until released; return (reached, resume)."""
    original, reached, resume = _real_discover(), threading.Event(), threading.Event()

    def discover(*args, **kwargs):
        if threading.current_thread().name == thread_name:
            reached.set()
            assert resume.wait(60)
        return original(*args, **kwargs)

    monkeypatch.setattr("service.sources.sync.discover", discover)
    return reached, resume


def _capture(failures, function, *args):
    def call():
        try:
            function(*args)
        except Exception as exc:  # collected and asserted on by the test
            failures.append(exc)

    return call


class _RecordingLogger:
    """A logger stand-in that keeps the lines a sync logs."""

    def __init__(self):
        self.lines = []

    def _record(self, message, *args, **kwargs):
        self.lines.append(message % args if args else message)

    info = warning = error = debug = _record

"""A repository's declared dependencies: built at sync, imported by discovery and by every run."""

import dataclasses
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from repos.environments import MARKER, environment_path
from service.models import GitRepository, Job, JobEnvironment, JobResult, Status
from service.runs.housekeeping import sweep_environments
from service.runs.requests import enqueue_job
from service.sources.repositories import add_repository
from service.sources.sync import SyncFailed, sync_repository
from service.worker.engine import run_job_result
from tests.helpers.git import commit, git, make_remote, push, write_files
from tests.helpers.wheels import make_wheel, make_wheelhouse

HELLO = "deps/jobs.hello/Hello"
# Imported at module level: discovery itself needs the environment.
GREETER = """\
from service.jobs import Job, register_jobs
import greeting


class Hello(Job):
    def run(self):
        return {"version": greeting.VERSION, "module": greeting.__file__}


register_jobs(Hello)
"""
OPTIONAL_GREETER = GREETER.replace("import greeting\n", "try:\n    import greeting\nexcept ImportError:\n"
                                   "    greeting = None\n").replace(
    'return {"version": greeting.VERSION, "module": greeting.__file__}',
    'return {"version": greeting and greeting.VERSION}',
)


@pytest.fixture
def settings(settings, tmp_path):
    """Offline: packages come only from a folder of wheels built by the test."""
    wheels = make_wheelhouse(tmp_path / "wheels", {"greeting": ("1.0", "2.0")})
    make_wheel(wheels, "croniter", "0.0.1", modules={"croniter.py": "SHADOW = True\n"})  # jobsync has its own
    return settings.replace(find_links=(str(wheels),), keep_environments=0)


@pytest.fixture
def remote(tmp_path):
    return make_remote(
        tmp_path / "git",
        {
            "requirements.txt": "greeting==1.0\n",
            "jobs/__init__.py": "from . import hello\n",
            "jobs/hello.py": GREETER,
        },
    )


@pytest.fixture
def repository(runtime, remote):
    _, bare = remote
    with runtime.db.session() as session:
        return add_repository(session, runtime.settings, name="Deps", slug="deps", remote_url=str(bare))


def change(work, files=None, *, remove=()):
    for name in remove:
        git(work, "rm", "-q", name)
    write_files(work, files or {})
    sha = commit(work)
    push(work, "main")
    return sha


def enqueue_hello(runtime):
    with runtime.db.session() as session:
        job = session.scalar(select(Job).where(Job.class_path == HELLO))
        job.enabled = True
        session.flush()
        return enqueue_job(session, job, {}, known_queues=runtime.settings.all_queues).id


def run(runtime, result_id):
    run_job_result(runtime, str(result_id))
    with runtime.db.session() as session:
        return session.get(JobResult, result_id)


def hello_job(runtime):
    with runtime.db.session() as session:
        return session.scalar(select(Job).where(Job.class_path == HELLO))


def test_a_job_that_imports_a_declared_package_is_discovered_and_runs(runtime, repository):
    summary = sync_repository(runtime, repository.id)
    assert summary["added"] == [HELLO] and summary["environment"]

    result = run(runtime, enqueue_hello(runtime))

    assert result.status == Status.SUCCESS, result.error
    assert result.result["version"] == "1.0"
    key = result.environment_key
    assert key == summary["environment"] == hello_job(runtime).environment_key
    assert result.result["module"].startswith(str(environment_path(runtime.settings.data_dir, key)))
    with runtime.db.session() as session:
        assert session.get(JobEnvironment, key).packages == {"greeting": "1.0"}
    assert "greeting" not in sys.modules  # only the children imported it


def test_a_declared_package_comes_ahead_of_the_services_own_copy(runtime, repository, remote):
    work, _ = remote
    change(work, {
        "requirements.txt": "croniter==0.0.1\n",
        "jobs/hello.py": GREETER.replace("import greeting", "import croniter").replace(
            '{"version": greeting.VERSION, "module": greeting.__file__}',
            '{"shadow": getattr(croniter, "SHADOW", False)}'),
    })
    sync_repository(runtime, repository.id)
    assert run(runtime, enqueue_hello(runtime)).result == {"shadow": True}


def test_two_commits_pinning_different_versions_run_side_by_side(runtime, repository, remote):
    work, _ = remote
    sync_repository(runtime, repository.id)
    on_one = [enqueue_hello(runtime) for _ in range(2)]
    change(work, {"requirements.txt": "greeting==2.0\n"})
    sync_repository(runtime, repository.id)
    on_two = [enqueue_hello(runtime) for _ in range(2)]

    # Interleaved on two threads of one worker process: each run imports its own commit's version.
    with ThreadPoolExecutor(max_workers=2) as threads:
        results = list(threads.map(lambda result_id: run(runtime, result_id), [on_one[0], on_two[0],
                                                                              on_two[1], on_one[1]]))
    versions = [(result.status, result.result and result.result["version"]) for result in results]
    assert versions == [(Status.SUCCESS, "1.0"), (Status.SUCCESS, "2.0"), (Status.SUCCESS, "2.0"),
                        (Status.SUCCESS, "1.0")]
    assert results[0].environment_key != results[1].environment_key


def test_a_bad_requirement_fails_the_sync_naming_it_and_the_previous_commit_keeps_running(
    runtime, repository, remote
):
    work, _ = remote
    sync_repository(runtime, repository.id)
    good = hello_job(runtime)
    change(work, {"requirements.txt": "greeting==1.0\nnosuchpackage>=3\n"})

    with pytest.raises(SyncFailed, match="nosuchpackage"):
        sync_repository(runtime, repository.id)

    with runtime.db.session() as session:
        row = session.get(GitRepository, repository.id)
        assert row.sync_status == "failed" and "nosuchpackage" in row.sync_error
        assert row.current_head == good.commit
    still = hello_job(runtime)
    assert (still.commit, still.environment_key) == (good.commit, good.environment_key)
    assert (environment_path(runtime.settings.data_dir, good.environment_key) / MARKER).is_file()
    result = run(runtime, enqueue_hello(runtime))
    assert (result.status, result.result["version"], result.commit) == (Status.SUCCESS, "1.0", good.commit)


def test_a_second_worker_with_an_empty_data_dir_builds_the_environment_and_runs(
    runtime, repository, tmp_path
):
    sync_repository(runtime, repository.id)
    result_id = enqueue_hello(runtime)
    other_settings = runtime.settings.replace(data_dir=str(tmp_path / "other"))
    elsewhere = dataclasses.replace(runtime, settings=other_settings)

    result = run(elsewhere, result_id)

    assert result.status == Status.SUCCESS, result.error
    assert result.result["module"].startswith(str(tmp_path / "other" / "envs" / result.environment_key))


def test_removing_the_declaration_stops_the_environment_from_being_used(runtime, repository, remote):
    work, _ = remote
    change(work, {"jobs/hello.py": OPTIONAL_GREETER})
    sync_repository(runtime, repository.id)
    assert run(runtime, enqueue_hello(runtime)).result == {"version": "1.0"}

    change(work, remove=["requirements.txt"])
    summary = sync_repository(runtime, repository.id)

    assert summary["environment"] is None and hello_job(runtime).environment_key is None
    result = run(runtime, enqueue_hello(runtime))
    assert (result.status, result.result, result.environment_key) == (Status.SUCCESS, {"version": None}, None)


def test_an_unchanged_declaration_on_a_new_commit_reuses_the_environment(runtime, repository, remote):
    work, _ = remote
    first = sync_repository(runtime, repository.id)["environment"]
    change(work, {"README.md": "docs only\n"})
    assert sync_repository(runtime, repository.id)["environment"] == first


def test_housekeeping_removes_environments_no_installed_job_or_waiting_run_uses(runtime, repository, remote):
    work, _ = remote
    old = sync_repository(runtime, repository.id)["environment"]
    waiting = enqueue_hello(runtime)  # pinned to the old environment
    change(work, {"requirements.txt": "greeting==2.0\n"})
    new = sync_repository(runtime, repository.id)["environment"]

    assert sweep_environments(runtime.db, runtime.settings) == []  # the waiting run still needs the old one
    assert run(runtime, waiting).result["version"] == "1.0"
    assert sweep_environments(runtime.db, runtime.settings) == [old]
    assert not environment_path(runtime.settings.data_dir, old).exists()
    assert (environment_path(runtime.settings.data_dir, new) / MARKER).is_file()


def test_a_run_with_an_environment_gets_a_child_process_even_with_thread_isolation(runtime, repository):
    sync_repository(runtime, repository.id)
    threaded = dataclasses.replace(runtime, settings=runtime.settings.replace(isolation="thread"))

    result = run(threaded, enqueue_hello(runtime))

    assert (result.status, result.result["version"]) == (Status.SUCCESS, "1.0")
    assert "greeting" not in sys.modules

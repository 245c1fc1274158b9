"""The sample extension's tar-archive data backend, synced like any repository."""

import hashlib
import io
import tarfile

import pytest

from service.bootstrap import configure
from service.models import Job, JobResult, Status
from service.runs.requests import enqueue_job
from service.sources.repositories import add_repository
from service.sources.sync import SyncFailed, sync_repository
from service.worker.engine import run_job_result
from tests.helpers.job_sources import SELF_REGISTERING, job_module
from tests.helpers.sync import jobs_by_path, repository_row

HELLO, WORLD = "archive/jobs.hello/Hello", "archive/jobs.world/World"


def write_archive(path, files: dict[str, str], *, links: dict[str, str] | None = None) -> str:
    """Write a gzipped tar of ``files`` (and symlinks ``links``); return the SHA-1 of its bytes."""
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            member = tarfile.TarInfo(name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
        for name, target in (links or {}).items():
            member = tarfile.TarInfo(name)
            member.type, member.linkname = tarfile.SYMTYPE, target
            archive.addfile(member)
    return hashlib.sha1(path.read_bytes()).hexdigest()


@pytest.fixture
def archive(tmp_path):
    return tmp_path / "jobs.tar.gz"


def add_archive_repository(runtime, archive):
    with runtime.db.session() as session:
        return add_repository(session, runtime.settings, name="Archive", slug="archive", backend="acme-tar",
                              backend_parameters={"path": str(archive)})


def test_a_tar_archive_repository_syncs_reconciles_and_pins_runs_to_their_version(runtime, archive):
    first = write_archive(archive, SELF_REGISTERING)
    repository = add_archive_repository(runtime, archive)
    assert sync_repository(runtime, repository.id)["added"] == [HELLO, WORLD]
    assert repository_row(runtime, repository.id).current_head == first
    with runtime.db.session() as session:
        hello = session.get(Job, jobs_by_path(runtime)[HELLO].id)
        hello.enabled = True
        pinned = enqueue_job(session, hello, {"who": "v1"}, known_queues=runtime.settings.all_queues).id

    second = write_archive(archive, {"jobs/__init__.py": "from . import hello\n",
                                     "jobs/hello.py": job_module("Hello").replace("'Hello '", "'Hi '")})
    summary = sync_repository(runtime, repository.id)
    assert (summary["old_head"], summary["new_head"], summary["removed"]) == (first, second, [WORLD])
    jobs = jobs_by_path(runtime)
    assert not jobs[WORLD].installed and jobs[HELLO].installed and jobs[HELLO].commit == second

    run_job_result(runtime, str(pinned))  # requested at the first version: runs that code, not the new one
    with runtime.db.session() as session:
        result = session.get(JobResult, pinned)
        assert (result.status, result.commit, result.result) == (Status.SUCCESS, first, "Hello v1")
        fresh = enqueue_job(session, session.get(Job, hello.id), {"who": "v2"},
                            known_queues=runtime.settings.all_queues).id
    run_job_result(runtime, str(fresh))
    with runtime.db.session() as session:
        assert session.get(JobResult, fresh).result == "Hi v2"


def test_an_unchanged_archive_is_the_same_version(runtime, archive):
    write_archive(archive, SELF_REGISTERING)
    repository = add_archive_repository(runtime, archive)
    sync_repository(runtime, repository.id)
    assert sync_repository(runtime, repository.id)["changed"] is False


@pytest.mark.parametrize("escape", [{"files": {"../escaped.py": "x = 1\n"}},
                                    {"links": {"jobs/secrets": "/etc"}}])
def test_archive_members_that_would_leave_the_checkout_fail_the_sync(runtime, archive, tmp_path, escape):
    write_archive(archive, {**SELF_REGISTERING, **escape.get("files", {})}, links=escape.get("links"))
    repository = add_archive_repository(runtime, archive)
    with pytest.raises(SyncFailed, match="Cannot extract"):
        sync_repository(runtime, repository.id)
    assert not list(tmp_path.rglob("escaped.py")) and jobs_by_path(runtime) == {}
    assert repository_row(runtime, repository.id).sync_status == "failed"


def test_archives_are_refused_unless_local_repositories_are_allowed(settings, archive):
    runtime = configure(settings.replace(allow_local_repositories=False))
    write_archive(archive, SELF_REGISTERING)
    repository = add_archive_repository(runtime, archive)
    with pytest.raises(SyncFailed, match="not allowed"):
        sync_repository(runtime, repository.id)

"""Jobs in the server's jobs_root reconcile like a repository's and run from it."""

from sqlalchemy import select

from service.bootstrap import configure
from service.models import Job, JobResult, Status
from service.runs.requests import enqueue_job
from service.sources.local import content_version, refresh_local_jobs
from service.worker.engine import run_job_result
from tests.helpers.factories import make_job
from tests.helpers.git import write_files
from tests.helpers.job_sources import job_module


def test_local_jobs_are_discovered_versioned_by_content_and_runnable(settings, tmp_path):
    root = tmp_path / "jobs_root"
    write_files(root, {"jobs/__init__.py": "from . import hello\n", "jobs/hello.py": job_module("Hello")})
    runtime = configure(settings.replace(jobs_root=str(root)))
    summary = refresh_local_jobs(runtime)
    assert summary["added"] == ["local/jobs.hello/Hello"]
    with runtime.db.session() as session:
        job = session.scalar(select(Job).where(Job.source == "local"))
        assert job.commit == content_version(root) and not job.enabled
        job.enabled = True
        result_id = enqueue_job(session, job, {"who": "local"}, known_queues=runtime.settings.all_queues).id
    run_job_result(runtime, str(result_id))
    with runtime.db.session() as session:
        result = session.get(JobResult, result_id)
        assert (result.status, result.result) == (Status.SUCCESS, "Hello local")

    (root / "jobs" / "hello.py").unlink()
    write_files(root, {"jobs/__init__.py": ""})
    assert refresh_local_jobs(runtime)["removed"] == ["local/jobs.hello/Hello"]


def test_without_jobs_root_refresh_does_nothing(runtime):
    assert refresh_local_jobs(runtime) == {"configured": False}


def test_a_class_path_held_by_another_source_is_reported_not_an_integrity_error(settings, tmp_path):
    # A repository registered as "local" before the namespace was reserved owns local/... paths.
    root = tmp_path / "jobs_root"
    write_files(root, {"jobs/__init__.py": "from . import hello\n", "jobs/hello.py": job_module("Hello")})
    runtime = configure(settings.replace(jobs_root=str(root)))
    with runtime.db.session() as session:
        make_job(session, source="git", class_path="local/jobs.hello/Hello", module_name="local.jobs.hello")
    summary = refresh_local_jobs(runtime)
    assert summary["added"] == []
    assert any("local/jobs.hello/Hello" in error and "another source" in error for error in summary["errors"])
    with runtime.db.session() as session:
        holders = session.scalars(select(Job.source).where(Job.class_path == "local/jobs.hello/Hello"))
        assert holders.all() == ["git"]

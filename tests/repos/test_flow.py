from repos.discover import discover
from repos.git import GitSettings, collect_garbage, ensure_checkout, fetch
from repos.reconcile import JobSnapshot, plan_sync
from tests.helpers import git as gitfixtures
from tests.helpers import job_sources as samples
from tests.helpers.job_sources import job_module

SETTINGS = GitSettings(allow_local=True)


def sync(data_dir, bare, current):
    sha = fetch(data_dir, "demo", str(bare), "main", settings=SETTINGS)
    report = discover("demo", ensure_checkout(data_dir, "demo", sha))
    return sha, plan_sync("demo", report.jobs, current, report.failed_modules)


def rows_after(plan, sha):
    return [JobSnapshot(job.class_path, job.module_name, values=job.fields, commit=sha) for job in plan.added]


def test_a_broken_module_in_a_later_commit_keeps_its_jobs_and_updates_the_rest(tmp_path):
    work, bare = gitfixtures.make_remote(tmp_path, samples.SELF_REGISTERING)
    data_dir = tmp_path / "data"
    first_sha, first = sync(data_dir, bare, [])
    assert [job.class_path for job in first.added] == ["demo/jobs.hello/Hello", "demo/jobs.world/World"]

    gitfixtures.write_files(
        work,
        {
            "jobs/world.py": "raise ImportError('half-finished edit')\n",
            "jobs/hello.py": job_module("Hello", name="Hi"),
        },
    )
    gitfixtures.commit(work)
    gitfixtures.push(work, "main")
    second_sha, second = sync(data_dir, bare, rows_after(first, first_sha))

    assert second.updated == {"demo/jobs.hello/Hello": {"name": "Hi"}}
    assert second.kept_from_failed_modules == ["demo/jobs.world/World"]
    assert second.removed == []
    assert second.seen == ["demo/jobs.hello/Hello"]
    assert collect_garbage(data_dir, "demo", keep={second_sha}) == [first_sha]

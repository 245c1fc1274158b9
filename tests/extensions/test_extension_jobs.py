"""Extension jobs: discovered in a child, reconciled as source ``extensions``, run from the package."""

import json
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select

from service.bootstrap import configure
from service.cli import main
from service.models import Job, JobResult, Status, utcnow
from service.runs.requests import enqueue_job
from service.sources.extension_jobs import refresh_extension_jobs
from service.worker.engine import run_job_result
from tests.helpers.extensions import ACME, cli_environment, unique_package, write_extension
from tests.helpers.factories import make_job, make_result

REPORT, PING = "extensions/acme.jobs/InventoryReport", "extensions/acme.jobs/Ping"


def extension_jobs(runtime) -> dict[str, Job]:
    with runtime.db.session() as session:
        return {job.class_path: job for job in session.scalars(select(Job).where(Job.source == "extensions"))}


def test_extension_jobs_are_named_by_the_extension_and_arrive_disabled(runtime):
    summary = refresh_extension_jobs(runtime)
    assert summary["added"] == [REPORT, PING] and summary["module_errors"] == []
    report = extension_jobs(runtime)[REPORT]
    assert (report.module_name, report.job_class_name) == ("acme.jobs", "InventoryReport")
    assert report.grouping == "Acme"
    assert report.task_queues == ["acme.reports"] and report.commit == "1.0.0"
    assert not report.enabled and report.installed
    assert refresh_extension_jobs(runtime)["added"] == []  # a second refresh changes nothing


def test_an_extension_job_runs_from_the_installed_package(runtime, acme_jobs):
    with runtime.db.session() as session:
        report = session.get(Job, acme_jobs["InventoryReport"])
        result_id = enqueue_job(session, report, {"site": "ams"}, known_queues=runtime.settings.all_queues).id
        assert session.get(JobResult, result_id).queue == "acme.reports"
    run_job_result(runtime, str(result_id))
    with runtime.db.session() as session:
        result = session.get(JobResult, result_id)
        assert (result.status, result.result) == (Status.SUCCESS, {"site": "ams", "items": 3}), result.error


def test_an_extension_job_fails_clearly_on_a_worker_without_its_extension(settings, acme_jobs):
    runtime = configure(settings.replace(extensions=()))
    with runtime.db.session() as session:
        ping = session.get(Job, acme_jobs["Ping"])
        result_id = enqueue_job(session, ping, known_queues=runtime.settings.all_queues).id
    run_job_result(runtime, str(result_id))
    with runtime.db.session() as session:
        result = session.get(JobResult, result_id)
        assert result.status == Status.FAILURE and "extension 'acme' is not loaded" in result.error


def test_removing_an_extension_from_config_uninstalls_its_jobs(settings, acme_jobs):
    runtime = configure(settings.replace(extensions=()))
    assert sorted(refresh_extension_jobs(runtime)["removed"]) == [REPORT, PING]
    assert not any(job.installed for job in extension_jobs(runtime).values())
    runtime = configure(settings)
    assert sorted(refresh_extension_jobs(runtime)["reinstalled"]) == [REPORT, PING]


JOBS_MODULE = """\
from service.jobs import Job, register_jobs


class Tidy(Job):
    class Meta:
        name = "Tidy"

    def run(self):
        return "tidied"


register_jobs(Tidy)
"""


def test_a_jobs_module_that_stops_importing_keeps_its_jobs_with_the_error(settings, extension_dir):
    package = write_extension(extension_dir, unique_package(), name="tidy", files={"jobs.py": JOBS_MODULE})
    runtime = configure(settings.replace(extensions=(package,)))
    assert refresh_extension_jobs(runtime)["added"] == ["extensions/tidy.jobs/Tidy"]
    (extension_dir / package / "jobs.py").write_text("raise ImportError('the vendor SDK is missing')\n")
    summary = refresh_extension_jobs(runtime)
    assert summary["kept_from_failed_modules"] == ["extensions/tidy.jobs/Tidy"]
    assert "the vendor SDK is missing" in summary["module_errors"][0]["error"]
    tidy = extension_jobs(runtime)["extensions/tidy.jobs/Tidy"]
    assert tidy.installed and "the vendor SDK is missing" in tidy.import_error


def test_jobs_refresh_reconciles_local_and_extension_jobs(cli_env):
    runner = CliRunner(env=cli_environment(cli_env, extensions=f"[{ACME}]"))
    result = runner.invoke(main, ["jobs", "refresh", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["source"]: row for row in json.loads(result.output)}
    assert rows["local"]["configured"] is False
    assert (rows["extensions"]["added"], rows["extensions"]["errors"]) == (2, None)


def test_acme_housekeeping_counts_runs_stale_on_acme_queues_after_the_configured_minutes(settings):
    from acme_extension.housekeeping import AcmeHousekeeping

    runtime = configure(settings.replace(extension_settings={"acme": {"stale_after_minutes": 60}}))
    with runtime.db.session() as session:
        job = make_job(session)
        for queue, age in (("acme.reports", 120), ("acme.reports", 30), ("default", 120)):
            created = utcnow() - timedelta(minutes=age)
            make_result(session, job, queue=queue, status=Status.PENDING, created=created)
    result_id = AcmeHousekeeping.enqueue().id
    run_job_result(runtime, str(result_id))
    with runtime.db.session() as session:
        result = session.get(JobResult, result_id)
        assert (result.status, result.result) == (Status.SUCCESS, {"stale_runs": 1})


def test_acme_housekeeping_gets_a_run_every_minute_when_a_worker_starts(runtime):
    from acme_extension.housekeeping import AcmeHousekeeping

    from service.jobs import runner_path
    from service.runs.runners import enqueue_system_jobs

    enqueue_system_jobs()
    with runtime.db.session() as session:
        runs = select(JobResult).where(JobResult.runner == runner_path(AcmeHousekeeping))
        waiting = session.scalars(runs).all()
        assert [(run.status, run.interval) for run in waiting] == [(Status.PENDING, 1)]

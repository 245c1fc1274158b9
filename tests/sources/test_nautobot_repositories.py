"""Jobs repositories written for Nautobot sync unchanged and run as Nautobot runs them.

The repositories are real git repositories made from ``tests/helpers/nautobot_repos`` (our own
jobs, in Nautobot 1.x and 2.x/3.x idioms, importing Nautobot's paths); each test syncs one, runs
jobs through the worker's child process and compares status, result and log entries.
"""

import pytest
from sqlalchemy import select, update

from service.errors import ValidationError
from service.models import GitRepository, Job, JobLogEntry, JobResult
from service.runs.requests import enqueue_job
from service.sources.repositories import add_repository
from service.sources.sync import SyncFailed, sync_repository
from service.worker.engine import run_job_result
from tests.helpers.factories import make_user
from tests.helpers.git import make_remote
from tests.helpers.job_sources import nautobot_repository


def synced(runtime, tmp_path, version: str, slug: str):
    """Sync the Nautobot ``version`` test repository as ``slug``; enable its jobs; return them by path."""
    _, bare = make_remote(tmp_path / f"git-{slug}", nautobot_repository(version))
    with runtime.db.session() as session:
        repository = add_repository(session, runtime.settings, name=slug, slug=slug, remote_url=str(bare))
    try:
        sync_repository(runtime, repository.id)
    except SyncFailed as exc:  # a module that needs Nautobot's database makes the sync partial
        assert str(exc).startswith("Partial sync"), exc
    with runtime.db.session() as session:
        session.execute(update(Job).values(enabled=True))
    with runtime.db.session() as session:
        jobs = {job.class_path: job for job in session.scalars(select(Job))}
        session.expunge_all()
    return repository.id, jobs


def run(runtime, class_path: str, data=None, **options):
    """Request a run of ``class_path`` as user "nora", let the worker run it; return (result, log)."""
    with runtime.db.session() as session:
        user = make_user(session, f"nora-{class_path.rsplit('/', 1)[-1].lower()}")
        job = session.scalar(select(Job).where(Job.class_path == class_path))
        result_id = enqueue_job(
            session, job, data or {}, known_queues=runtime.settings.all_queues, user=user, **options
        ).id
    run_job_result(runtime, str(result_id))
    with runtime.db.session() as session:
        result = session.get(JobResult, result_id)
        entries = session.scalars(
            select(JobLogEntry).where(JobLogEntry.job_result_id == result_id).order_by(JobLogEntry.created)
        ).all()
        session.expunge_all()
    return result, [(entry.level, entry.message) for entry in entries]


@pytest.fixture
def v2(runtime, tmp_path):
    return synced(runtime, tmp_path, "v2", "nb2")


@pytest.fixture
def v1(runtime, tmp_path):
    return synced(runtime, tmp_path, "v1", "nb1")


def test_a_2x_repository_syncs_unchanged_and_only_the_orm_module_fails(runtime, v2):
    repository_id, jobs = v2
    assert sorted(jobs) == [
        "nb2/jobs.addressing/PlanSubnet",
        "nb2/jobs.hooks/RenameWatcher",
        "nb2/jobs.lifecycle/Lifecycle",
        "nb2/jobs.old_style/LegacyEcho",
        "nb2/jobs.outcomes/CallsFail",
        "nb2/jobs.outcomes/GivesUp",
        "nb2/jobs.outcomes/LogsFailure",
        "nb2/jobs.outcomes/NoRun",
        "nb2/jobs.outcomes/Raises",
        "nb2/jobs.queues/OnCeleryQueue",
        "nb2/jobs.requests/WhoAmI",
        "nb2/jobs.tasks/RenameSite",
    ]
    with runtime.db.session() as session:
        error = session.get(GitRepository, repository_id).sync_error
    needs_orm = "NautobotUnavailable: needs Nautobot's database: nautobot.dcim.models"
    assert f"nb2.jobs.audit_devices: {needs_orm}" in error
    assert "nb2.jobs.outcomes: Broken.Meta.hidden must be True or False" in error  # refused alone


def test_metadata_comes_from_meta_or_from_the_class_itself(v2):
    _, jobs = v2
    rename, who = jobs["nb2/jobs.tasks/RenameSite"], jobs["nb2/jobs.requests/WhoAmI"]
    assert (rename.name, rename.grouping, rename.description) == (
        "Rename a site", "Site tasks", "Renames a site.\n\nSecond paragraph."
    )
    assert [variable["name"] for variable in rename.variables] == ["size", "site", "copies"]
    assert (who.name, who.description) == ("Who am I", "Reports who started it.")
    assert jobs["nb2/jobs.old_style/LegacyEcho"].dryrun_default is True  # 1.x commit_default = False


def test_module_task_loggers_reach_the_runs_log_with_success_and_failure_levels(runtime, v2):
    result, log = run(runtime, "nb2/jobs.tasks/RenameSite", {"site": "ams1", "copies": "2"})
    assert (result.status, result.result) == ("SUCCESS", {"site": "AMS1", "size": "s", "copies": 2})
    assert log == [
        ("debug", "module logger at debug"),
        ("info", "renaming ams1"),
        ("info", "helper looked at ams1"),
        ("success", "helper finished"),
        ("failure", "module logger failure does not fail the job"),
    ]


def test_positional_variables_validate_as_nautobot_declares_them(runtime, v2):
    with runtime.db.session() as session, pytest.raises(ValidationError) as refused:
        job = session.scalar(select(Job).where(Job.class_path == "nb2/jobs.tasks/RenameSite"))
        enqueue_job(session, job, {"site": "x", "copies": 9}, known_queues=runtime.settings.all_queues)
    assert refused.value.fields == {"copies": ["Ensure this value is less than or equal to 3."]}


def test_ip_variables_hand_netaddr_objects_and_refuse_host_bits_as_nautobot_does(runtime, v2):
    data = {"network": "192.0.2.0/24", "gateway": "192.0.2.1"}
    result, _ = run(runtime, "nb2/jobs.addressing/PlanSubnet", data)
    assert (result.status, result.result) == ("SUCCESS", {
        "cidr": "192.0.2.0/24", "size": 256, "first_host": "192.0.2.1", "gateway_version": 4,
        "gateway_inside": True,
    })
    with runtime.db.session() as session, pytest.raises(ValidationError) as refused:
        job = session.scalar(select(Job).where(Job.class_path == "nb2/jobs.addressing/PlanSubnet"))
        enqueue_job(session, job, {"network": "192.0.2.1/24", "gateway": "192.0.2.1"},
                    known_queues=runtime.settings.all_queues)
    message = "192.0.2.1/24 is not a valid prefix. Did you mean 192.0.2.0/24?"
    assert refused.value.fields == {"network": [message]}


def test_a_failure_log_alone_ends_success_and_critical_is_its_own_level(runtime, v2):
    result, log = run(runtime, "nb2/jobs.outcomes/LogsFailure")
    assert (result.status, result.result, result.error) == ("SUCCESS", "carried on", None)
    assert log == [("failure", "interface Gi0/1 is down"), ("critical", "this is critical")]


def test_fail_ends_failure_keeping_the_result_and_the_rest_of_the_run(runtime, v2):
    result, log = run(runtime, "nb2/jobs.outcomes/CallsFail")
    assert (result.status, result.result, result.error) == (
        "FAILURE", {"checked": 5}, "2 of 5 devices unreachable"
    )
    assert log == [("failure", "2 of 5 devices unreachable"), ("info", "still going")]


@pytest.mark.parametrize(
    ("job", "error"),
    [
        ("Raises", "ValueError: bad inventory"),
        ("GivesUp", "RunJobTaskFailed: cannot continue"),
        ("NoRun", "NotImplementedError: Jobs must define the run method."),
    ],
)
def test_exceptions_end_failure_with_the_error_and_a_traceback(runtime, v2, job, error):
    result, log = run(runtime, f"nb2/jobs.outcomes/{job}")
    assert (result.status, result.error) == ("FAILURE", error)
    assert [level for level, _ in log] == ["error"] and log[0][1].startswith(error)


@pytest.mark.parametrize(
    ("data", "status", "expected"),
    [
        (
            {},
            "SUCCESS",
            ["before_start task_id_is_run=True", "on_success retval='ran'",
             "after_return status=SUCCESS retval='ran'"],
        ),
        (
            {"fail_early": True},
            "FAILURE",
            ["before_start task_id_is_run=True", "not today",
             "on_failure exc='refused in before_start' einfo=none",
             "after_return status=FAILURE retval='refused in before_start'"],
        ),
        (
            {"fail_cleanly": True},
            "FAILURE",
            ["before_start task_id_is_run=True", "partly done", "on_failure exc='ran' einfo=none",
             "after_return status=FAILURE retval='ran'"],
        ),
        (
            {"explode": True},
            "FAILURE",
            ["before_start task_id_is_run=True", "RuntimeError: kaboom",
             "on_failure exc=RuntimeError(kaboom) einfo=yes",
             "after_return status=FAILURE retval=RuntimeError(kaboom)"],
        ),
    ],
    ids=["success", "fail-in-before-start", "clean-failure", "exception"],
)
def test_every_lifecycle_path_gets_nautobots_arguments(runtime, v2, data, status, expected):
    result, log = run(runtime, "nb2/jobs.lifecycle/Lifecycle", data)
    assert result.status == status
    assert [message.split("\n")[0] for _, message in log] == expected
    if "fail_early" in data:
        assert result.result == "refused in before_start"


def test_request_user_and_job_result_are_there_for_2x_and_1x_code(runtime, v2):
    result, _ = run(runtime, "nb2/jobs.requests/WhoAmI")
    assert result.status == "SUCCESS"
    assert result.result == {
        "request_id_is_result_id": True,
        "username": "nora-whoami",
        "request_user": "nora-whoami",
        "result_user": "nora-whoami",
        "may_delete_devices": False,
        "task_kwargs": {},
        "has_created": True,
    }


def test_a_job_on_celerys_queue_is_refused_before_anything_is_written(runtime, v2):
    with runtime.db.session() as session:
        job = session.scalar(select(Job).where(Job.class_path == "nb2/jobs.queues/OnCeleryQueue"))
        with pytest.raises(ValidationError) as refused:
            enqueue_job(session, job, {}, known_queues=runtime.settings.all_queues)
        assert "No worker serves queue 'celery'" in refused.value.fields["task_queue"][0]
        assert session.scalar(select(JobResult.id)) is None


def test_queue_aliases_run_a_job_on_celerys_queue_on_the_default_queue(settings, tmp_path):
    from service.bootstrap import configure

    runtime = configure(settings.replace(queue_aliases={"celery": "default"}))
    synced(runtime, tmp_path, "v2", "nb2")
    result, _ = run(runtime, "nb2/jobs.queues/OnCeleryQueue")
    assert (result.queue, result.status, result.result) == ("default", "SUCCESS", "ran on an aliased queue")


def test_a_job_hook_reads_the_change_with_attributes_and_snapshots(runtime, v2):
    change = {
        "action": "update", "object_type": "dcim.site", "object_id": "s1",
        "prechange": {"name": "ams1", "status": "active"},
        "postchange": {"name": "ams2", "status": "active"},
    }
    result, log = run(runtime, "nb2/jobs.hooks/RenameWatcher", internal_data={"change": change})
    assert result.status == "SUCCESS"
    assert result.result == {"removed": {"name": "ams1"}, "added": {"name": "ams2"}}
    assert log == [("info", "update ams2")]


def test_a_1x_module_in_a_2x_repository_runs_with_run_data_commit(runtime, v2):
    result, log = run(runtime, "nb2/jobs.old_style/LegacyEcho", {"text": "hi"})
    assert (result.status, result.result, result.dryrun) == ("SUCCESS", "hi", True)
    assert log == [("info", "commit=False"), ("success", "echo hi")]


def test_a_1x_repository_without_register_jobs_is_discovered_as_nautobot_1x_did(runtime, v1):
    _, jobs = v1
    assert sorted(jobs) == ["nb1/jobs.checks/Report", "nb1/jobs.checks/VerifyHostname"]
    assert jobs["nb1/jobs.checks/VerifyHostname"].grouping == "Legacy checks"


def test_1x_log_failure_fails_the_run_and_request_user_is_the_runs_user(runtime, v1):
    result, log = run(runtime, "nb1/jobs.checks/VerifyHostname", {"hostname": "Router1"})
    assert (result.status, result.result, result.error) == ("FAILURE", "shared", "Router1 is not lower case")
    assert log == [("info", "user nora-verifyhostname"), ("failure", "Router1 is not lower case")]


def test_a_1x_report_runs_its_test_methods_then_post_run(runtime, v1):
    result, log = run(runtime, "nb1/jobs.checks/Report")
    assert result.status == "SUCCESS"
    assert log == [
        ("success", "first check passed"),
        ("warning", "second check is only a warning"),
        ("info", "post_run ran"),
    ]

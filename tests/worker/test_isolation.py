"""Each run executes in its own child process: whatever the job does, the worker records it and goes on."""

import pytest
from sqlalchemy import select

from service.models import JobLogEntry, JobOutputFile, JobResult, Status
from service.worker.engine import run_job_result
from tests.helpers.factories import make_job, make_result, make_user


def run_once(runtime, class_name, data=None, **job_fields):
    with runtime.db.session() as session:
        job = make_job(session, class_name, **job_fields)
        result_id = make_result(session, job, input_data=data or {}).id
    run_job_result(runtime, str(result_id))
    with runtime.db.session() as session:
        result = session.get(JobResult, result_id)
        logs = session.scalars(select(JobLogEntry).where(JobLogEntry.job_result_id == result_id)
                               .order_by(JobLogEntry.created)).all()
        return result, logs


def test_a_successful_run_records_result_logs_and_counts(runtime):
    result, logs = run_once(runtime, "Hello", {"who": "ops"})
    assert result.status == Status.SUCCESS
    assert result.result == {"greeted": "ops"}
    assert [(entry.level, entry.message, entry.grouping) for entry in logs] == [("info", "hello ops", "run")]
    assert result.log_counts == {"info": 1}
    assert result.started <= result.completed and result.worker_id


@pytest.mark.parametrize(
    ("class_name", "error"),
    [
        ("Raises", "ValueError: boom"),
        ("SysExit", "SystemExit: 3"),
        ("HardExit", "Job process exited unexpectedly (exit status 7)."),
        ("Segfault", "Job process exited unexpectedly (killed by signal SIGSEGV)."),
    ],
)
def test_a_job_that_raises_exits_or_crashes_ends_failure_and_the_worker_goes_on(runtime, class_name, error):
    result, _ = run_once(runtime, class_name)
    assert result.status == Status.FAILURE
    assert result.error == error
    after, _ = run_once(runtime, "Hello")
    assert after.status == Status.SUCCESS


def test_an_exception_stores_its_traceback(runtime):
    result, _ = run_once(runtime, "Raises")
    assert "Traceback" in result.traceback and "boom" in result.traceback


def test_the_hard_time_limit_kills_the_job(runtime):
    result, logs = run_once(runtime, "Sleeper", {"seconds": 60}, time_limit=2)
    assert result.status == Status.FAILURE
    assert result.error.startswith("Time limit exceeded")
    assert [entry.message for entry in logs][0] == "sleeping"


def test_the_soft_time_limit_raises_inside_the_job_so_it_can_clean_up(runtime):
    result, logs = run_once(runtime, "SoftLimited", soft_time_limit=0.3, time_limit=30)
    assert result.status == Status.FAILURE
    assert result.error == "soft time limit exceeded"
    assert ("warning", "cleaning up after soft limit") in [(e.level, e.message) for e in logs]


def test_thread_isolation_runs_jobs_in_the_worker_thread(settings):
    from service.bootstrap import configure

    runtime = configure(settings.replace(isolation="thread"))
    result, logs = run_once(runtime, "Hello", {"who": "threads"})
    assert result.status == Status.SUCCESS and result.result == {"greeted": "threads"}
    assert [entry.message for entry in logs] == ["hello threads"]


def test_a_result_delivered_twice_runs_once(runtime):
    with runtime.db.session() as session:
        result_id = make_result(session, make_job(session, "Hello")).id
    run_job_result(runtime, str(result_id))
    run_job_result(runtime, str(result_id))
    with runtime.db.session() as session:
        count = len(session.scalars(select(JobLogEntry).where(JobLogEntry.job_result_id == result_id)).all())
        assert session.get(JobResult, result_id).attempts == 1
    assert count == 1


def run_as(runtime, job, user=None, data=None):
    with runtime.db.session() as session:
        result_id = make_result(session, session.merge(job), input_data=data or {},
                                user_id=user.id if user else None).id
    run_job_result(runtime, str(result_id))
    with runtime.db.session() as session:
        return session.get(JobResult, result_id)


def test_a_job_that_patches_its_process_never_sees_another_jobs_input(runtime):
    with runtime.db.session() as session:
        spy, victim = make_job(session, "Spy"), make_job(session, "Hello")
    assert run_as(runtime, spy, data={"mode": "plant"}).result == "planted"
    assert run_as(runtime, victim, data={"who": "a secret"}).status == Status.SUCCESS
    assert run_as(runtime, spy, data={"mode": "report"}).result is None


def test_a_child_is_reused_only_for_the_same_job_commit_and_user(runtime):
    with runtime.db.session() as session:
        job = make_job(session, "Pid")
        alice, bob = make_user(session, "alice"), make_user(session, "bob")
    first, second = run_as(runtime, job, alice).result, run_as(runtime, job, alice).result
    other_user = run_as(runtime, job, bob).result
    assert first == second  # the same job, commit and user: the warm child serves it
    assert other_user != second


def test_a_child_that_ran_sensitive_input_is_never_reused(runtime):
    with runtime.db.session() as session:
        job = make_job(session, "SensitivePid", has_sensitive_variables=True)
        user = make_user(session, "carol")
    pids = [run_as(runtime, job, user, data={"token": "s3cret"}).result for _ in range(2)]
    assert pids[0] != pids[1]


def test_a_pickle_written_to_the_reporting_pipe_is_never_unpickled_by_the_worker(runtime, tmp_path):
    marker = tmp_path / "worker-ran-job-code"
    with runtime.db.session() as session:
        job = make_job(session, "PickleThrower")
    result = run_as(runtime, job, data={"marker": str(marker)})
    assert result.status == Status.FAILURE
    assert "reporting channel" in result.error
    assert not marker.exists()


def test_job_code_sees_no_service_settings_in_its_own_or_its_ancestors_environment(runtime):
    """The forkserver starts from the allow-list; the worker is non-dumpable and the job cannot ptrace."""
    import os

    assert any(name.startswith("JOBSYNC_") for name in os.environ)  # the worker does hold some
    with runtime.db.session() as session:
        job = make_job(session, "ReadsEnvironment")
    outcome = run_as(runtime, job)
    assert outcome.status == Status.SUCCESS, outcome.error
    seen = outcome.result
    for where in ("own", "parent", "grandparent"):
        assert "JOBSYNC" not in seen[where] and "DATABASE" not in seen[where], where
    assert seen["grandparent"].startswith("refused")


def test_a_run_that_writes_too_much_is_cut_to_the_limits_and_still_succeeds(runtime):
    runtime.settings = runtime.settings.replace(log_line_max_chars=100, log_lines_max_per_run=5,
                                                output_files_max_per_run=2)
    result, logs = run_once(runtime, "Chatty", {"lines": 3, "width": 500, "files": 3})
    assert result.status == Status.SUCCESS and result.result == "done"
    cut = [entry.message for entry in logs if entry.level == "info"]
    assert len(cut) == 3 and all(len(message) < 200 and "had 502 characters" in message for message in cut)
    errors = [entry.message for entry in logs if entry.level == "error"]
    assert errors == [
        "The file 'file2.txt' was not stored: a run may store 2 files (output_files_max_per_run)."]
    with runtime.db.session() as session:
        stored = session.scalars(select(JobOutputFile.name).where(JobOutputFile.job_result_id == result.id))
        assert sorted(stored) == ["file0.txt", "file1.txt"]

    result, logs = run_once(runtime, "Chatty", {"lines": 9})
    assert [entry.message for entry in logs][:5] == [f"{number}:xxxxxxxxxx" for number in range(5)]
    assert [entry.message for entry in logs][5:] == [
        "Further log lines are dropped: a run may log 5 lines (log_lines_max_per_run)."]
    assert result.status == Status.SUCCESS and result.log_counts == {"info": 5, "warning": 1}

"""``jobsync runjob``, ``jobsync jobs`` and ``jobsync results``."""

import json
import os
import pstats
import socket
import subprocess
import sys
import uuid

import dramatiq
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from service.cli import main
from service.infra.db import Database
from service.models import Job, JobResult, Status
from service.users import create_user
from tests.helpers.factories import make_job, make_result

HELLO_VARIABLES = [{"name": "who", "type": "StringVar", "required": False, "default": "world"}]


@pytest.fixture
def database(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def jobs(database):
    """Class paths of a greeting job, a failing one, a hidden one and an uninstalled one."""
    with database.session() as session:
        create_user(session, "ada")
        made = {
            "hello": make_job(session, "Hello", variables=HELLO_VARIABLES, grouping="Greetings"),
            "raises": make_job(session, "Raises", grouping="Failures"),
            "hidden": make_job(session, "Hello", name="Hidden", hidden=True),
            "gone": make_job(session, "Hello", name="Gone", installed=False),
        }
        return {key: job.class_path for key, job in made.items()}


@pytest.fixture
def cli(cli_env, tmp_path):
    runner = CliRunner(env=cli_env)

    def invoke(*args):
        cwd = os.getcwd()
        os.chdir(tmp_path)  # --profile writes its file into the working directory
        try:
            return runner.invoke(main, list(args), catch_exceptions=False)
        finally:
            os.chdir(cwd)

    return invoke


def results(database):
    with database.session() as session:
        return session.scalars(
            select(JobResult).options(joinedload(JobResult.user)).order_by(JobResult.created)
        ).all()


def test_runjob_prints_the_log_and_succeeds(cli, database, jobs):
    outcome = cli("runjob", jobs["hello"], "--data", '{"who": "ada"}', "--username", "ada")
    assert outcome.exit_code == 0, outcome.output
    assert "hello ada" in outcome.output and outcome.output.rstrip().endswith("SUCCESS")
    [result] = results(database)
    assert result.status == Status.SUCCESS and result.user.username == "ada"


def test_runjob_exits_1_when_the_run_fails(cli, jobs):
    outcome = cli("runjob", jobs["raises"])
    assert outcome.exit_code == 1 and "FAILURE" in outcome.output


def test_runjob_dryrun_asks_for_a_dry_run(cli, database, jobs):
    assert cli("runjob", jobs["hello"], "--dryrun").exit_code == 0
    assert results(database)[0].dryrun is True


@pytest.mark.parametrize(("data", "message"), [("{nope", "not JSON"), ("[1]", "JSON object")])
def test_runjob_refuses_data_that_is_not_a_json_object(cli, jobs, data, message):
    outcome = cli("runjob", jobs["hello"], "--data", data)
    assert outcome.exit_code == 2 and message in outcome.output


def test_runjob_refuses_bad_input_naming_the_field(cli, database, jobs):
    outcome = cli("runjob", jobs["hello"], "--data", '{"whom": 1}')
    assert outcome.exit_code == 2 and "whom" in outcome.output
    assert results(database) == []


def test_runjob_json_output_parses_and_holds_the_result_and_its_log(cli, jobs):
    outcome = cli("runjob", jobs["hello"], "--data", '{"who": "json"}', "--json")
    assert outcome.exit_code == 0
    document = json.loads(outcome.output)
    assert document["job_result"]["status"] == "SUCCESS"
    assert document["job_result"]["result"] == {"greeted": "json"}
    assert [entry["message"] for entry in document["logs"]] == ["hello json"]


def test_runjob_local_runs_in_this_process(cli, database, jobs):
    outcome = cli("runjob", jobs["hello"], "--local")
    assert outcome.exit_code == 0 and "in this process" in outcome.output
    [result] = results(database)
    assert result.worker_id.startswith(f"{socket.gethostname()}:{os.getpid()}:")


def test_runjob_profile_writes_a_pstats_file_and_prints_its_path(cli, tmp_path, jobs):
    outcome = cli("runjob", jobs["hello"], "--profile", "--json")
    assert outcome.exit_code == 0
    path = json.loads(outcome.output)["job_result"]["profile"]
    assert path.startswith(str(tmp_path)) and path.endswith(".pstats")
    functions = {name for _, _, name in pstats.Stats(path).stats}
    assert "run" in functions  # the job's own run() was profiled, not just the waiting


def test_runjob_with_redis_queues_the_run_for_a_worker_and_waits(redis_runtime, cli_env, jobs):
    worker = dramatiq.Worker(redis_runtime.broker, queues={"default"}, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        env = {**cli_env, "JOBSYNC_REDIS_URL": redis_runtime.settings.redis_url, "PYTHONPATH": os.getcwd()}
        outcome = subprocess.run(
            [sys.executable, "-m", "service.cli", "runjob", jobs["hello"], "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        worker.stop()
    assert outcome.returncode == 0, outcome.stderr
    document = json.loads(outcome.stdout)
    assert document["job_result"]["status"] == "SUCCESS"
    with redis_runtime.db.session() as session:
        result = session.get(JobResult, uuid.UUID(document["job_result"]["id"]))
        # Run by the worker in this test process, not by the command that queued it.
        assert result.worker_id.startswith(f"{socket.gethostname()}:{os.getpid()}:")


def test_jobs_list_hides_hidden_and_uninstalled_jobs_unless_all(cli, jobs):
    listed = json.loads(cli("jobs", "list", "--json").output)
    assert {job["class_path"] for job in listed} == {jobs["hello"], jobs["raises"]}
    everything = json.loads(cli("jobs", "list", "--all", "--json").output)
    assert {job["class_path"] for job in everything} == set(jobs.values())
    table = cli("jobs", "list").output
    assert table.splitlines()[0].split() == ["CLASS_PATH", "NAME", "GROUPING", "ENABLED", "INSTALLED"]


def test_jobs_disable_and_enable(cli, jobs):
    assert cli("jobs", "disable", jobs["hello"]).exit_code == 0
    refused = cli("runjob", jobs["hello"])
    assert refused.exit_code == 1 and "not enabled" in refused.output
    assert cli("jobs", "enable", jobs["hello"]).exit_code == 0
    assert cli("runjob", jobs["hello"]).exit_code == 0


def test_results_list_show_and_follow(cli, jobs):
    run = json.loads(cli("runjob", jobs["raises"], "--json").output)["job_result"]
    listed = json.loads(cli("results", "list", "--json", "--status", "failure").output)
    assert [item["id"] for item in listed] == [run["id"]]
    shown = json.loads(cli("results", "show", run["id"], "--json").output)
    assert shown["job_result"]["status"] == "FAILURE" and "boom" in shown["job_result"]["error"]
    assert cli("results", "show", run["id"], "--follow").exit_code == 1
    assert cli("results", "show", str(uuid.uuid4())).exit_code == 1


def test_results_cancel_revokes_a_waiting_run(cli, database, jobs):
    with database.session() as session:
        job = session.scalar(select(Job).where(Job.class_path == jobs["hello"]))
        result_id = make_result(session, job).id
    outcome = cli("results", "cancel", str(result_id))
    assert outcome.exit_code == 0 and "revoked" in outcome.output
    assert cli("results", "cancel", str(result_id)).exit_code == 1  # already finished


def test_runjob_repeating_an_idempotency_key_follows_the_first_run(cli, database, jobs):
    first = cli("runjob", jobs["hello"], "--username", "ada", "--idempotency-key", "nightly-1")
    again = cli("runjob", jobs["hello"], "--username", "ada", "--idempotency-key", "nightly-1")
    assert first.exit_code == again.exit_code == 0, again.output
    assert "Following the earlier run" in again.output and again.output.rstrip().endswith("SUCCESS")
    assert len(results(database)) == 1


def test_runjob_refuses_an_overlong_idempotency_key_naming_the_option(cli, database, jobs):
    outcome = cli("runjob", jobs["hello"], "--idempotency-key", "k" * 300)
    assert outcome.exit_code != 0 and "--idempotency-key" in outcome.output
    assert results(database) == []


def test_runjob_refuses_a_queue_no_worker_serves_with_exit_2_and_writes_nothing(cli, database):
    with database.session() as session:
        class_path = make_job(session, "Hello", variables=HELLO_VARIABLES, task_queues=["celery"]).class_path
    outcome = cli("runjob", class_path)
    assert outcome.exit_code == 2 and "No worker serves queue 'celery'" in outcome.output
    assert results(database) == []


def test_runjob_at_a_commit_refuses_a_job_not_from_git_with_a_message(cli, jobs):
    outcome = cli("runjob", jobs["hello"], "--at", "abcdef1")
    assert outcome.exit_code != 0 and "git repository" in outcome.output

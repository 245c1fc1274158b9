"""``POST /api/extras/jobs/{id}/run/``: JSON and multipart, Nautobot's answers and refusals."""

import io
import uuid

import pytest
from sqlalchemy import event, select

from service.models import GitRepository, Job, JobResult, Status
from tests.helpers.api import HELLO_VARIABLES
from tests.helpers.factories import make_job, make_result


@pytest.fixture
def runner(make_caller):
    return make_caller("run_job")


def run(client, caller, job_ref, **kwargs):
    return client.post(f"/api/extras/jobs/{job_ref}/run/", headers=caller.headers, **kwargs)


def test_running_a_job_answers_201_with_nautobots_shape(client, runtime, runner, hello):
    response = run(client, runner, hello, json={"data": {"who": "ada"}, "task_queue": "high"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["scheduled_job"] is None
    result = body["job_result"]
    assert result["status"] == {"value": "PENDING", "label": "PENDING"}
    assert result["job_model"]["id"] == str(hello) and result["user"]["display"] == runner.username
    assert result["task_kwargs"] == {"who": "ada"} and result["queue"] == "high"
    with runtime.db.session() as session:
        assert session.get(JobResult, uuid.UUID(result["id"])).status == Status.PENDING


def test_a_run_request_reads_its_caller_once_writes_no_token_and_commits_once(client, runtime, runner, hello):
    run(client, runner, hello, json={})  # the token's first use records it
    statements = []

    def note(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()).upper())

    event.listen(runtime.db.engine, "before_cursor_execute", note)
    try:
        assert run(client, runner, hello, json={"data": {"who": "ada"}}).status_code == 201
    finally:
        event.remove(runtime.db.engine, "before_cursor_execute", note)
    reads = [statement for statement in statements if "FROM TOKENS" in statement or "FROM USERS" in statement]
    assert len(reads) == 1  # the token with its user; the view finds the user loaded
    assert not [statement for statement in statements if statement.startswith("UPDATE TOKENS")]
    assert not [statement for statement in statements if "JOB_OUTPUT_FILES" in statement]


def test_the_job_may_be_named_by_class_path_and_unknown_keys_are_ignored(client, runtime, runner, hello):
    with runtime.db.session() as session:
        class_path = session.get(Job, hello).class_path
    response = run(client, runner, class_path, json={"job_id": str(hello), "data": {}})
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "dryrun"),
    [({"commit": False}, True), ({"commit": True}, False), ({"dryrun": True}, True), ({}, False)],
)
def test_commit_false_or_dryrun_true_makes_a_dry_run(client, runner, hello, body, dryrun):
    assert run(client, runner, hello, json=body).get_json()["job_result"]["dryrun"] is dryrun


@pytest.mark.parametrize(
    ("fields", "reason"), [({"enabled": False}, "not enabled"), ({"installed": False}, "not installed")]
)
def test_a_disabled_or_uninstalled_job_answers_405_with_a_message(client, runtime, runner, fields, reason):
    with runtime.db.session() as session:
        job_id = make_job(session, **fields).id
    response = run(client, runner, job_id, json={})
    assert response.status_code == 405 and reason in response.get_json()["detail"]
    with runtime.db.session() as session:
        assert session.scalars(select(JobResult)).all() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"data": {"nobody": 1}}, "nobody"),
        ({"data": {"who": "x" * 3, "extra": 1}}, "extra"),
        ({"data": "text"}, "data"),
        ({"task_queue": "nowhere"}, "task_queue"),
        ({"commit": True, "dryrun": True}, "commit"),
        ({"schedule": {"interval": "sometimes"}}, "schedule"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client, runner, hello, body, field):
    response = run(client, runner, hello, json=body)
    assert response.status_code == 400 and field in response.get_json()


def test_a_body_that_is_not_json_is_a_400(client, runner, hello):
    response = run(client, runner, hello, data="{nope", content_type="application/json")
    assert response.status_code == 400


def test_sensitive_input_is_neither_stored_nor_answered(client, runtime, runner):
    with runtime.db.session() as session:
        job_id = make_job(
            session,
            "Secretive",
            has_sensitive_variables=True,
            variables=[{"name": "password", "type": "StringVar", "required": True, "default": None}],
        ).id
    result = run(client, runner, job_id, json={"data": {"password": "hunter2"}}).get_json()["job_result"]
    assert result["task_kwargs"] is None and "hunter2" not in str(result)
    with runtime.db.session() as session:
        assert session.get(JobResult, uuid.UUID(result["id"])).input_data is None


def test_a_multipart_form_carries_fields_and_file_uploads(client, runtime, runner):
    with runtime.db.session() as session:
        job_id = make_job(
            session, variables=[*HELLO_VARIABLES, {"name": "report", "type": "FileVar", "required": True}]
        ).id
    form = {"who": "grace", "_task_queue": "low", "report": (io.BytesIO(b"a,b\n1,2\n"), "report.csv")}
    response = run(client, runner, job_id, data=form, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    result = response.get_json()["job_result"]
    assert result["task_kwargs"] == {"who": "grace"} and result["queue"] == "low"


def test_a_multipart_form_missing_a_required_file_names_it(client, runtime, runner):
    with runtime.db.session() as session:
        job_id = make_job(session, variables=[{"name": "report", "type": "FileVar", "required": True}]).id
    response = run(client, runner, job_id, data={"_task_queue": "low"}, content_type="multipart/form-data")
    assert response.status_code == 400 and "report" in response.get_json()


def test_a_job_on_a_queue_no_worker_serves_is_a_400_naming_the_queue_and_writes_nothing(
    client, runtime, runner
):
    with runtime.db.session() as session:
        job_id = make_job(session, "Hello", variables=HELLO_VARIABLES, task_queues=["celery"]).id
    response = run(client, runner, job_id, json={"data": {}})
    assert response.status_code == 400
    assert "'celery'" in str(response.get_json()["task_queue"])
    with runtime.db.session() as session:
        assert session.scalars(select(JobResult)).all() == []


def _keyed_job(runtime) -> uuid.UUID:
    with runtime.db.session() as session:
        return make_job(session, "Keyed", variables=HELLO_VARIABLES, concurrency_key="who:{who}").id


def test_only_an_admin_may_run_past_the_concurrency_key(client, runtime, runner, admin):
    job = _keyed_job(runtime)
    refused = run(client, runner, job, json={"data": {"who": "ada"}, "ignore_concurrency_limit": True})
    assert refused.status_code == 403
    allowed = run(client, admin, job, json={"data": {"who": "ada"}, "ignore_concurrency_limit": True})
    assert allowed.status_code == 201 and allowed.get_json()["job_result"]["concurrency_key"] is None


def test_a_waiting_run_shows_what_it_waits_for(client, runtime, runner):
    from service.worker.claim import claim_and_load

    job = _keyed_job(runtime)
    first, second = (run(client, runner, job, json={"data": {"who": "ada"}}).get_json()["job_result"]["id"]
                     for _ in range(2))
    claim_and_load(runtime.db, uuid.UUID(first))
    claim_and_load(runtime.db, uuid.UUID(second))
    shown = client.get(f"/api/extras/job-results/{second}/", headers=runner.headers).get_json()
    assert shown["status"]["value"] == "PENDING" and shown["concurrency_key"] == "who:ada"
    assert shown["waiting_for"] == f"who:ada held by {first}"
    assert shown["status_label"] == f"PENDING (waiting for who:ada held by {first})"


def test_source_commit_runs_the_job_at_a_commit_its_repository_synced(client, runtime, runner):
    with runtime.db.session() as session:
        repository = GitRepository(name="D", slug="d", remote_url="/d")
        job = make_job(session, source="git", commit="b" * 40, repository=repository)
        make_result(session, job, commit="a" * 40)  # a past run at an older synced commit
        job_id = job.id
    response = run(client, runner, job_id, json={"source_commit": "aaaaaaa", "commit": True})
    assert response.status_code == 201
    assert response.get_json()["job_result"]["dryrun"] is False  # `commit` keeps its Nautobot meaning
    with runtime.db.session() as session:
        assert session.get(JobResult, uuid.UUID(response.get_json()["job_result"]["id"])).commit == "a" * 40


def test_a_source_commit_never_synced_is_a_400_naming_it(client, runtime, runner):
    with runtime.db.session() as session:
        repository = GitRepository(name="D", slug="d", remote_url="/d")
        job_id = make_job(session, source="git", commit="b" * 40, repository=repository).id
    response = run(client, runner, job_id, json={"source_commit": "c" * 40})
    assert response.status_code == 400 and "source_commit" in response.get_json()


def test_a_retried_run_links_its_attempts_in_the_api(client, runtime, runner):
    from service.runs.retries import schedule_retry

    with runtime.db.session() as session:
        job = make_job(session, "Flaky", retries=1)
        first = JobResult(job=job, name=job.name, class_path=job.class_path, status=Status.FAILURE)
        session.add(first)
        session.flush()
        retry_id, first_id = schedule_retry(session, first.id).id, first.id
    shown = client.get(f"/api/extras/job-results/{retry_id}/", headers=runner.headers).get_json()
    assert shown["attempt"] == 2 and shown["retry_of"]["id"] == str(first_id)
    original = client.get(f"/api/extras/job-results/{first_id}/", headers=runner.headers).get_json()
    assert original["attempt"] == 1 and original["retry_of"] is None
    job_shown = client.get(f"/api/extras/jobs/{job.id}/", headers=runner.headers).get_json()
    assert job_shown["retries"] == 1


def test_a_chained_run_names_the_run_that_started_it_in_the_api(client, runtime, runner):
    with runtime.db.session() as session:
        job = make_job(session, "Downstream")
        head = JobResult(job=job, name=job.name, class_path=job.class_path, status=Status.SUCCESS)
        session.add(head)
        session.flush()
        following = JobResult(job=job, name=job.name, class_path=job.class_path, triggered_by=head.id)
        session.add(following)
        session.flush()
        head_id, following_id = head.id, following.id
    shown = client.get(f"/api/extras/job-results/{following_id}/", headers=runner.headers).get_json()
    assert shown["triggered_by"]["id"] == str(head_id)

"""``Idempotency-Key`` on ``POST /api/extras/jobs/{id}/run/``: a retried request starts nothing new."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from service.models import IdempotencyKey, JobOutputFile, JobResult, utcnow
from tests.helpers.factories import make_job


@pytest.fixture
def runner(make_caller):
    return make_caller("run_job")


def run(client, caller, job_ref, key=None, **kwargs):
    headers = dict(caller.headers, **({"Idempotency-Key": key} if key is not None else {}))
    return client.post(f"/api/extras/jobs/{job_ref}/run/", headers=headers, json=kwargs)


def count_runs(runtime) -> int:
    with runtime.db.session() as session:
        return session.scalar(select(func.count()).select_from(JobResult))


def test_repeating_a_key_returns_the_same_run_and_starts_nothing_new(client, runtime, runner, hello):
    first = run(client, runner, hello, key="order-42", data={"who": "ada"})
    again = run(client, runner, hello, key="order-42", data={"who": "ada"})
    assert first.status_code == again.status_code == 201
    assert again.get_json()["job_result"]["id"] == first.get_json()["job_result"]["id"]
    assert count_runs(runtime) == 1


def test_requests_without_a_key_or_with_different_keys_each_start_a_run(client, runtime, runner, hello):
    run(client, runner, hello)
    run(client, runner, hello)
    run(client, runner, hello, key="a")
    run(client, runner, hello, key="b")
    assert count_runs(runtime) == 4


def test_keys_belong_to_their_user(client, runtime, make_caller, hello):
    alice, bob = make_caller("run_job"), make_caller("run_job")
    ids = {run(client, caller, hello, key="same").get_json()["job_result"]["id"] for caller in (alice, bob)}
    assert len(ids) == 2


def test_a_key_reused_for_another_job_is_a_409(client, runtime, runner, hello):
    with runtime.db.session() as session:
        other = make_job(session, "Other").id
    assert run(client, runner, hello, key="k1").status_code == 201
    response = run(client, runner, other, key="k1")
    assert response.status_code == 409 and "Idempotency-Key" in response.get_json()["detail"]
    assert count_runs(runtime) == 1


def test_a_key_older_than_24_hours_starts_a_new_run(client, runtime, runner, hello):
    first = run(client, runner, hello, key="daily").get_json()["job_result"]["id"]
    with runtime.db.session() as session:
        session.execute(update(IdempotencyKey).values(created=utcnow() - timedelta(hours=25)))
    second = run(client, runner, hello, key="daily").get_json()["job_result"]["id"]
    assert first != second and count_runs(runtime) == 2


def test_an_overlong_key_is_a_400_naming_the_header(client, runtime, runner, hello):
    response = run(client, runner, hello, key="x" * 300)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.get_json()["error"]["fields"]
    assert count_runs(runtime) == 0


def test_a_refused_request_remembers_no_key(client, runtime, runner):
    with runtime.db.session() as session:
        disabled = make_job(session, "Off", enabled=False).id
    assert run(client, runner, disabled, key="k").status_code == 405
    with runtime.db.session() as session:
        assert session.scalars(select(IdempotencyKey)).all() == []


def test_a_repeated_key_answers_the_files_its_run_has_stored_since(client, runtime, runner, hello):
    first = run(client, runner, hello, key="with-files").get_json()["job_result"]
    assert first["files"] == []  # answered as created
    with runtime.db.session() as session:
        session.add(JobOutputFile(job_result_id=uuid.UUID(first["id"]), name="report.txt", content=b"done",
                                  size=4))
    again = run(client, runner, hello, key="with-files").get_json()["job_result"]
    assert [file["name"] for file in again["files"]] == ["report.txt"]

"""The use cases under the endpoints: receiver input, sync-all, and what a delivery asks for."""

import pytest
from sqlalchemy import func, select, update

from service.errors import ValidationError
from service.models import GitRepository, JobResult, Status
from service.runs.requests import enqueue_job, insert_runs, prepare_run
from service.sources.deliveries import decide
from service.sources.sync_all import request_sync_all
from tests.helpers.factories import make_job
from tests.helpers.webhooks import sync_results
from webhooks.providers import PushEvent

CHANGE = {
    "action": "create",
    "object_type": "dcim.site",
    "object_id": "1",
    "prechange": None,
    "postchange": {"name": "AMS1"},
}


def test_internal_data_reaches_the_run_without_the_stored_schema_refusing_it(runtime):
    with runtime.db.session() as session:
        job = make_job(
            session, "EchoChange", module_name="tests.helpers.receivers", is_job_hook_receiver=True
        )
        result = enqueue_job(
            session, job, internal_data={"change": CHANGE}, known_queues=runtime.settings.all_queues
        )
        assert result.input_data == {"change": CHANGE}


def test_the_same_payload_as_user_data_is_refused_as_an_unknown_field(runtime):
    with runtime.db.session() as session:
        job = make_job(
            session, "EchoChange", module_name="tests.helpers.receivers", is_job_hook_receiver=True
        )
        with pytest.raises(ValidationError) as caught:
            enqueue_job(session, job, {"change": CHANGE}, known_queues=runtime.settings.all_queues)
    assert caught.value.fields == {"change": ["Unknown field."]}


def test_prepared_runs_are_written_in_one_insert_and_sent_once_committed(runtime):
    queue = runtime.broker.queues["default"]
    with runtime.db.session() as session:
        job = make_job(session)
        runs = [prepare_run(session, job, known_queues=runtime.settings.all_queues) for _ in range(3)]
        with runtime.db.engine.connect() as other:  # preparing writes nothing
            assert other.scalar(select(func.count()).select_from(JobResult)) == 0
        insert_runs(session, runs)
        assert queue.qsize() == 0  # the messages wait for the commit
    assert queue.qsize() == 3
    with runtime.db.session() as session:
        rows = session.scalars(select(JobResult)).all()
    assert {row.id for row in rows} == {run.row["id"] for run in runs}
    assert all(row.status == Status.PENDING and row.enqueued and row.job_id == job.id for row in rows)


def test_prepared_runs_rolled_back_send_nothing(runtime):
    queue = runtime.broker.queues["default"]
    with pytest.raises(RuntimeError), runtime.db.session() as session:
        job = make_job(session)
        insert_runs(session, [prepare_run(session, job, known_queues=runtime.settings.all_queues)])
        raise RuntimeError("the caller fails after writing")
    assert queue.qsize() == 0
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(JobResult)) == 0


def add_repositories(runtime, *names):
    with runtime.db.session() as session:
        session.add_all(
            GitRepository(name=name, slug=name.lower(), remote_url=f"/srv/{name}.git") for name in names
        )


def test_sync_all_queues_one_sync_per_repository(runtime):
    add_repositories(runtime, "Alpha", "Beta")
    with runtime.db.session() as session:
        results = request_sync_all(session)
    assert len(results) == 2 and len({result.object_id for result in results}) == 2
    assert all(result.status == Status.PENDING for result in results)


def test_sync_all_again_joins_the_syncs_already_waiting(runtime):
    add_repositories(runtime, "Alpha", "Beta")
    with runtime.db.session() as session:
        first = request_sync_all(session)
    with runtime.db.session() as session:
        again = request_sync_all(session)
    assert [result.id for result in again] == [result.id for result in first]
    assert len(sync_results(runtime)) == 2


def test_sync_all_queues_a_new_sync_once_the_waiting_one_has_started(runtime):
    add_repositories(runtime, "Alpha")
    with runtime.db.session() as session:
        [first] = request_sync_all(session)
    with runtime.db.session() as session:
        session.execute(update(JobResult).values(status=Status.STARTED))
    with runtime.db.session() as session:
        [second] = request_sync_all(session)
    assert second.id != first.id


def push(ref, after="a" * 40, deleted=False):
    return PushEvent(ref=ref, before="b" * 40, after=after, deleted=deleted)


def test_a_delivery_with_several_refs_syncs_when_one_of_them_is_the_branch():
    decision = decide("main", "push", "repo:push", [push("refs/tags/v1"), push("refs/heads/main", "c" * 40)])
    assert (decision.outcome, decision.ref, decision.sha) == ("accepted", "refs/heads/main", "c" * 40)


def test_a_push_reporting_no_refs_is_ignored():
    assert decide("main", "push", "repo:push", []).reason == "The push reports no ref changes."


def test_an_events_secret_given_in_clear_stops_start_up_naming_the_key():
    from service.config import load_settings
    from service.errors import ConfigError

    with pytest.raises(ConfigError, match="'events_secret'") as caught:
        load_settings({"events_secret": "hunter2"}, environ={})
    assert "hunter2" not in str(caught.value)


def test_hook_loop_users_can_be_set_from_the_environment():
    from service.config import load_settings

    settings = load_settings(environ={"JOBSYNC_HOOK_LOOP_USERS": "[netbox-hooks, nautobot-hooks]"})
    assert settings.hook_loop_users == ("netbox-hooks", "nautobot-hooks")

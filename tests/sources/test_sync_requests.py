"""One route to a sync: ``request_sync`` and sync-all write in the caller's transaction."""

from sqlalchemy import func, select

from service.models import GitRepository, JobResult, Status
from service.sources.sync import SYNC_RUNNER, request_sync
from service.sources.sync_all import request_sync_all


def add_repositories(runtime, *names):
    with runtime.db.session() as session:
        session.add_all(
            GitRepository(name=name, slug=name.lower(), remote_url=f"/srv/{name}.git") for name in names
        )


def syncs(runtime):
    with runtime.db.session() as session:
        return session.scalar(
            select(func.count()).select_from(JobResult).where(JobResult.runner == SYNC_RUNNER)
        )


def test_a_sync_request_rolled_back_with_its_callers_transaction_leaves_nothing(runtime):
    add_repositories(runtime, "Alpha")
    with runtime.db.session() as session:
        request_sync(session, session.scalar(select(GitRepository)))
        session.rollback()
    assert syncs(runtime) == 0


def test_sync_all_writes_in_the_callers_transaction(runtime):
    add_repositories(runtime, "Alpha", "Beta", "Gamma")
    with runtime.db.session() as session:
        assert len(request_sync_all(session)) == 3
        session.rollback()
    assert syncs(runtime) == 0


def test_sync_all_sends_every_new_sync_in_one_broker_round_trip_after_commit(runtime, monkeypatch):
    add_repositories(runtime, "Alpha", "Beta", "Gamma")
    with runtime.db.session() as session:
        ids = dict(session.execute(select(GitRepository.name, GitRepository.id)).all())
        waiting = request_sync(session, session.get(GitRepository, ids["Beta"])).id
    batches = []
    real_send = runtime.outbox.send_runs

    def send_runs(items):
        batches.append(list(items))
        real_send(batches[-1])

    monkeypatch.setattr(runtime.outbox, "send_runs", send_runs)
    with runtime.db.session() as session:
        results = request_sync_all(session)
        assert batches == []  # nothing leaves before the commit

    assert [len(batch) for batch in batches] == [2]  # Beta's sync was already waiting: it joins that one
    assert [result.object_id for result in results] == [str(ids[name]) for name in ("Alpha", "Beta", "Gamma")]
    assert results[1].id == waiting and all(result.status == Status.PENDING for result in results)
    assert syncs(runtime) == 3

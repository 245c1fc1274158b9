"""Concurrency keys computed by a job's function: discovered and checked at sync, never called where a
run is requested, computed by the worker where the job's code runs, then held, waited for or skipped
exactly as a template's key is. Real git repositories, real job children."""

from __future__ import annotations

import contextlib
import os
import textwrap
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from service.models import ConcurrencySlot, GitRepository, Job, JobLogEntry, JobResult, Status, utcnow
from service.runs.late_keys import Attached, attach, read_pending
from service.runs.requests import enqueue_job
from service.scheduling.recovery import fail_lost_runs
from service.sources.repositories import add_repository
from service.sources.sync import SyncFailed, sync_repository
from service.users import create_token, create_user
from service.worker.claim import claim_and_load, worker_id
from service.worker.engine import run_job_result
from tests.helpers.git import commit, make_remote, push, write_files
from tests.helpers.scheduling import sent_ids
from tests.helpers.servers import wait_until

KEYED, SKIPPER, SECRET = "demo/jobs.keyed/Keyed", "demo/jobs.keyed/Skipper", "demo/jobs.keyed/SecretKeyed"
TAKER = "demo/jobs.keyed/Taker"
HOLD_SECONDS = 60.0  # a deadline for what a held run waits on, never a measured time


def keyed_module(markers: Path, gate: Path) -> str:
    """Jobs whose key is ``site:<who before the dash>``; the key function notes who called it, where."""
    return textwrap.dedent(f"""\
        import os
        import time

        from service.jobs import Job, StringVar, register_jobs

        MARKERS, GATE = {str(markers)!r}, {str(gate)!r}


        def site_of(data, context):
            with open(MARKERS, "a") as markers:
                markers.write(f"{{os.getpid()}} {{data['who']}} {{context['job']}} {{context['user']}}\\n")
            if data["who"] == "boom":
                raise LookupError("no site for boom")
            if data["who"] == "blank":
                return ""
            return "site:" + data["who"].split("-")[0]


        class Keyed(Job):
            who = StringVar()

            class Meta:
                has_sensitive_variables = False
                concurrency_key = site_of

            def run(self, *, who):
                deadline = time.monotonic() + {HOLD_SECONDS}
                while who.endswith("hold") and not os.path.exists(GATE) and time.monotonic() < deadline:
                    time.sleep(0.005)  # holding its key until the test opens the gate
                return os.getpid()


        class Skipper(Job):
            who = StringVar()

            class Meta:
                has_sensitive_variables = False
                concurrency_policy = "skip"

                @staticmethod
                def concurrency_key(data, context):
                    return site_of(data, context)

            def run(self, *, who):
                return who


        class Taker(Job):
            who = StringVar()

            class Meta:
                has_sensitive_variables = False
                concurrency_policy = "cancel_running"

                @classmethod
                def concurrency_key(cls, data, context):
                    return site_of(data, context)

            def run(self, *, who):
                return who


        class SecretKeyed(Job):
            who = StringVar()
            token = StringVar()

            class Meta:  # sensitive (the default): its input waits beside the broker, never in the database
                concurrency_key = site_of

            def run(self, *, who, token):
                return token == "s3cret"


        register_jobs(Keyed, Skipper, Taker, SecretKeyed)
        """)


@pytest.fixture
def repo(runtime, tmp_path):
    return make_repo(runtime, tmp_path)


def make_repo(runtime, tmp_path: Path):
    """Sync a repository of keyed jobs, all enabled; return (markers, gate, work tree, repository id)."""
    markers, gate = tmp_path / "markers.txt", tmp_path / "gate"
    files = {"jobs/__init__.py": "from . import keyed\n", "jobs/keyed.py": keyed_module(markers, gate)}
    work, bare = make_remote(tmp_path / "git", files)
    with runtime.db.session() as session:
        repository = add_repository(session, runtime.settings, name="Demo", slug="demo", remote_url=str(bare))
    summary = sync_repository(runtime, repository.id)
    assert summary["module_errors"] == []
    with runtime.db.session() as session:
        for job in session.scalars(select(Job)):
            job.enabled = True
    return markers, gate, work, repository.id


def enqueue(runtime, class_path: str, **data) -> uuid.UUID:
    with runtime.db.session() as session:
        job = session.scalar(select(Job).where(Job.class_path == class_path))
        return enqueue_job(session, job, data, known_queues=runtime.settings.all_queues).id


def reload(runtime, run_id) -> JobResult:
    with runtime.db.session() as session:
        return session.get(JobResult, run_id)


def holders(runtime, key="site:r1") -> list[uuid.UUID]:
    with runtime.db.session() as session:
        return list(session.scalars(select(ConcurrencySlot.job_result_id).where(ConcurrencySlot.key == key)))


def attach_key(runtime, run_id, key="site:r1", worker=None) -> Attached:
    """What this worker thread does once the key function of a run it claimed answered ``key``."""
    return attach(runtime.db, read_pending(runtime.db, run_id).keyed(key), worker=worker or worker_id())


def calls(markers: Path) -> list[list[str]]:
    """Each call of the key function: pid, who, job, user."""
    return [line.split(" ") for line in markers.read_text().splitlines()] if markers.exists() else []


@contextlib.contextmanager
def holding(runtime, gate: Path, who="r1-hold", ends=Status.SUCCESS):
    """A run of Keyed executing in a worker thread of this process, holding ``site:<who>``; yields its id."""
    holder = enqueue(runtime, KEYED, who=who)
    worker = threading.Thread(target=run_job_result, args=(runtime, str(holder)), daemon=True)
    worker.start()
    try:
        wait_until(lambda: holders(runtime, "site:" + who.split("-")[0]) == [holder], timeout=HOLD_SECONDS,
                   message="the holder to take its key")
        yield holder
    finally:
        gate.touch()
        worker.join(HOLD_SECONDS)
    assert reload(runtime, holder).status == ends


def test_a_key_function_is_synced_as_such_and_one_of_the_wrong_shape_is_a_sync_error(runtime, repo):
    markers, _, work, repository_id = repo
    with runtime.db.session() as session:
        keyed = session.scalar(select(Job).where(Job.class_path == KEYED))
        assert (keyed.concurrency_key, keyed.concurrency_key_callable, keyed.concurrency_policy) == (
            None, True, "queue")
    source = (work / "jobs/keyed.py").read_text().replace("def site_of(data, context):", "def site_of(data):")
    write_files(work, {"jobs/keyed.py": source})
    commit(work)
    push(work, "main")
    with pytest.raises(SyncFailed, match="demo.jobs.keyed"):
        sync_repository(runtime, repository_id)
    with runtime.db.session() as session:
        error = session.get(GitRepository, repository_id).sync_error
    assert "demo.jobs.keyed: Keyed.Meta.concurrency_key: it must take (data, context)" in error
    assert calls(markers) == []  # checked by its signature: discovery never calls it


def test_the_key_function_runs_in_the_jobs_child_never_where_the_run_is_requested(runtime, repo, client):
    markers = repo[0]
    with runtime.db.session() as session:
        user = create_user(session, "ada", permissions=["run_job"])
        _, token = create_token(session, user)
        job_id = session.scalar(select(Job.id).where(Job.class_path == KEYED))
    response = client.post(f"/api/extras/jobs/{job_id}/run/", headers={"Authorization": f"Token {token}"},
                           json={"data": {"who": "r1-a"}})
    assert response.status_code == 201, response.get_json()
    run_id = uuid.UUID(response.get_json()["job_result"]["id"])
    assert calls(markers) == []  # the web request stored no key and called nothing
    requested = reload(runtime, run_id)
    assert (requested.concurrency_key, requested.concurrency_policy) == (None, "queue")

    run_job_result(runtime, str(run_id))
    done = reload(runtime, run_id)
    assert done.status == Status.SUCCESS and done.concurrency_key == "site:r1"
    [(pid, who, job, username)] = calls(markers)
    assert (who, job, username) == ("r1-a", KEYED, "ada")
    assert int(pid) != os.getpid() and int(pid) == done.result  # the job's own child, before its code
    assert holders(runtime) == []


def test_under_thread_isolation_the_key_function_runs_where_the_job_does(settings, tmp_path):
    from service import bootstrap

    runtime = bootstrap.configure(settings.replace(isolation="thread"))
    markers, _, _, _ = make_repo(runtime, tmp_path)
    run_id = enqueue(runtime, KEYED, who="r1-a")
    run_job_result(runtime, str(run_id))
    done = reload(runtime, run_id)
    assert done.status == Status.SUCCESS and done.concurrency_key == "site:r1"
    assert int(calls(markers)[0][0]) == done.result == os.getpid()


def test_runs_with_the_same_computed_key_serialise_and_runs_with_different_keys_do_not(runtime, repo):
    markers, gate, _, _ = repo
    with holding(runtime, gate) as holder:
        same, other = enqueue(runtime, KEYED, who="r1-b"), enqueue(runtime, KEYED, who="r2-a")
        sent_ids(runtime)
        run_job_result(runtime, str(same))  # returns at once: the run waits without this thread
        waiting = reload(runtime, same)
        assert (waiting.status, waiting.concurrency_key) == (Status.PENDING, "site:r1")
        assert waiting.blocked_by == holder
        assert waiting.status_label == f"PENDING (waiting for site:r1 held by {holder})"
        assert (waiting.worker_id, waiting.started, waiting.attempts) == (None, None, 0)
        run_job_result(runtime, str(other))
        assert reload(runtime, other).status == Status.SUCCESS  # site:r2 was free
    assert sent_ids(runtime) == [same]  # the holder's release woke it
    run_job_result(runtime, str(same))
    assert reload(runtime, same).status == Status.SUCCESS and holders(runtime) == []
    assert [who for _, who, _, _ in calls(markers)] == ["r1-hold", "r1-b", "r2-a"]  # never computed twice


def test_a_waiting_run_with_sensitive_input_still_has_it_when_it_runs(runtime, repo):
    _, gate, _, _ = repo
    with holding(runtime, gate) as holder:
        secret = enqueue(runtime, SECRET, who="r1-s", token="s3cret")
        run_job_result(runtime, str(secret))
        assert reload(runtime, secret).blocked_by == holder
        assert reload(runtime, secret).input_data is None
    run_job_result(runtime, str(secret))
    done = reload(runtime, secret)
    assert (done.status, done.result) == (Status.SUCCESS, True)


def test_policy_skip_with_a_key_function_ends_the_run_revoked_naming_key_and_holder(runtime, repo):
    _, gate, _, _ = repo
    with holding(runtime, gate) as holder:
        skipped = enqueue(runtime, SKIPPER, who="r1-c")
        run_job_result(runtime, str(skipped))
        row = reload(runtime, skipped)
        assert (row.status, row.concurrency_key) == (Status.REVOKED, "site:r1")
        assert row.error == f"Skipped: concurrency key site:r1 is held by run {holder}."
        assert holders(runtime) == [holder]


def test_policy_cancel_running_with_a_key_function_stops_the_holder_then_runs(runtime, repo):
    _, gate, _, _ = repo
    with holding(runtime, gate, ends=Status.REVOKED) as holder:
        taker = enqueue(runtime, TAKER, who="r1-t")
        sent_ids(runtime)
        run_job_result(runtime, str(taker))
        assert reload(runtime, taker).blocked_by == holder and reload(runtime, holder).cancel_requested
        wait_until(lambda: reload(runtime, holder).status == Status.REVOKED, timeout=HOLD_SECONDS,
                   message="the holder's worker to stop it")
    assert sent_ids(runtime) == [taker]  # the holder's ending woke it
    run_job_result(runtime, str(taker))
    assert reload(runtime, taker).status == Status.SUCCESS and holders(runtime) == []


@pytest.mark.parametrize(("who", "says"), [
    ("boom", "Keyed.Meta.concurrency_key raised LookupError: no site for boom"),
    ("blank", "Keyed.Meta.concurrency_key returned '': a key must be a non-empty string"),
])
def test_a_key_function_that_fails_ends_the_run_failure_naming_it_and_holding_nothing(
    runtime, repo, who, says
):
    run_id = enqueue(runtime, KEYED, who=who)
    run_job_result(runtime, str(run_id))
    failed = reload(runtime, run_id)
    assert failed.status == Status.FAILURE and failed.concurrency_key is None and failed.result is None
    assert failed.error.startswith("Could not compute the run's concurrency key: ") and says in failed.error
    with runtime.db.session() as session:
        logged = session.scalars(select(JobLogEntry.message).where(
            JobLogEntry.job_result_id == run_id, JobLogEntry.level == "failure")).all()
        assert session.scalar(select(ConcurrencySlot.key)) is None
    assert logged == [failed.error]


def test_a_run_whose_worker_dies_while_computing_its_key_recovers_like_any_run_and_holds_nothing(
    runtime, repo
):
    run_id = enqueue(runtime, KEYED, who="r1-a")
    claimed = claim_and_load(runtime.db, run_id)  # claimed for its key; the worker then dies
    assert claimed is not None and claimed.concurrency_key is None
    later = utcnow() + timedelta(seconds=runtime.settings.worker_lost_seconds + 1)
    assert fail_lost_runs(runtime, later) == 1
    lost = reload(runtime, run_id)
    assert lost.status == Status.FAILURE and "Worker lost" in lost.error and holders(runtime) == []


def test_a_run_whose_worker_dies_holding_its_computed_key_gives_it_back_and_wakes_the_next(runtime, repo):
    first, second = enqueue(runtime, KEYED, who="r1-a"), enqueue(runtime, KEYED, who="r1-b")
    for run_id in (first, second):  # each claimed, its key computed and attached by this worker thread
        claim_and_load(runtime.db, run_id)
        assert attach_key(runtime, run_id) is (Attached.HELD if run_id == first else Attached.WAITING)
    sent_ids(runtime)  # then this worker dies
    later = utcnow() + timedelta(seconds=runtime.settings.worker_lost_seconds + 1)
    assert fail_lost_runs(runtime, later) == 1
    assert reload(runtime, first).status == Status.FAILURE and holders(runtime) == []
    assert sent_ids(runtime) == [second]
    run_job_result(runtime, str(second))
    assert reload(runtime, second).status == Status.SUCCESS


def test_a_cancel_that_comes_while_the_key_is_computed_is_kept_and_a_run_no_longer_ours_is_left_alone(
    runtime, repo
):
    first, second, third = (enqueue(runtime, KEYED, who=who) for who in ("r1-a", "r1-b", "r1-c"))
    for run_id in (first, second, third):
        claim_and_load(runtime.db, run_id)
    assert attach_key(runtime, first) is Attached.HELD
    with runtime.db.session() as session:
        session.execute(update(JobResult).where(JobResult.id == second).values(cancel_requested=True))
    cancelled, gone = attach_key(runtime, second), attach_key(runtime, third, worker="another:1:2")
    assert (cancelled, gone) == (Attached.CANCELLED, Attached.GONE)
    assert reload(runtime, second).status == Status.STARTED  # for its worker to end REVOKED, holding nothing
    assert reload(runtime, third).concurrency_key is None and holders(runtime) == [first]

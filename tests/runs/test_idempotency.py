"""Two first attempts with the same Idempotency-Key at once still start one run."""

import threading

from sqlalchemy import func, select

from service.models import Job, JobResult, User
from service.runs.idempotency import run_once
from service.runs.requests import enqueue_job
from tests.helpers.factories import make_job, make_user


def test_concurrent_requests_with_one_key_start_one_run_and_both_return_it(runtime):
    with runtime.db.session() as session:
        job_id, user_id = make_job(session).id, make_user(session).id
    both_looked = threading.Barrier(2, timeout=30)
    outcomes, errors = [], []

    def request() -> None:
        try:
            with runtime.db.session() as session:
                job, user = session.get(Job, job_id), session.get(User, user_id)

                def start():
                    both_looked.wait()  # each has found no earlier run before either writes
                    return enqueue_job(session, job, {}, user=user, known_queues=runtime.settings.all_queues)

                outcome, created = run_once(session, "same-key", user_id, job, start)
                outcomes.append((outcome.id, created))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len({run_id for run_id, _ in outcomes}) == 1
    assert sorted(created for _, created in outcomes) == [False, True]
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(JobResult)) == 1

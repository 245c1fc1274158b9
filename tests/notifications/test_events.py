"""Each event reaches the rules that want it, through real channels, and says only what it may."""

import hashlib
import hmac
import json
from datetime import timedelta

import dramatiq
from sqlalchemy import select

from service.models import GitRepository, NotificationDelivery, NotificationRule, utcnow
from service.notifications.delivery import NOTIFY_QUEUE
from service.notifications.senders import SIGNATURE_HEADER
from service.scheduling import create_schedule
from service.scheduling.queue_watch import QueueWatch
from service.sources.sync import SyncFailed, observed_sync
from service.worker.engine import run_job_result
from tests.helpers.factories import make_job, make_result
from tests.helpers.notifications import make_rule
from tests.notifications.conftest import SECRET

PASSWORD = "hunter2-do-not-leak"
SENSITIVE = [{"name": "password", "type": "StringVar", "required": True, "default": None}]


def drain(runtime):
    """Deliver every waiting notification through the real actor (retries included)."""
    worker = dramatiq.Worker(runtime.broker, queues={NOTIFY_QUEUE}, worker_timeout=50)
    worker.start()
    try:
        runtime.broker.join(NOTIFY_QUEUE, timeout=30_000)
        worker.join()
    finally:
        worker.stop()


def run(runtime, job_id, data=None):
    with runtime.db.session() as session:
        result_id = make_result(session, session.get(type_of_job(), job_id), input_data=data or {}).id
    run_job_result(runtime, str(result_id))
    return result_id


def type_of_job():
    from service.models import Job

    return Job


def add_job(runtime, class_name, **fields):
    with runtime.db.session() as session:
        return make_job(session, class_name, **fields).id


def add_rule(runtime, **fields):
    with runtime.db.session() as session:
        return make_rule(session, **fields).id


def deliveries(runtime):
    with runtime.db.session() as session:
        rows = session.scalars(select(NotificationDelivery).order_by(NotificationDelivery.created)).all()
        session.expunge_all()
        return rows


def test_a_failed_run_posts_a_signed_message_with_link_commit_and_first_error_line_and_no_secret(
        notify_runtime, receiver):
    add_rule(notify_runtime, events=["run_failed"], target=receiver.url + "/hook",
             secret="env:NOTIFY_TEST_SECRET")
    job_id = add_job(notify_runtime, "SecretiveFails", has_sensitive_variables=True, variables=SENSITIVE,
                     commit="c" * 40)
    result_id = run(notify_runtime, job_id, {"password": PASSWORD})
    drain(notify_runtime)
    [request] = receiver.requests
    expected = "sha256=" + hmac.new(SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    assert request["headers"][SIGNATURE_HEADER] == expected
    message = json.loads(request["body"])
    assert message["event"] == "run_failed" and message["commit"] == "c" * 40
    assert message["run_url"] == f"https://jobsync.example.com/job-results/{result_id}/"
    assert message["error"] == "ValueError: could not log in"
    for secret in (PASSWORD, SECRET):
        assert secret.encode() not in request["body"]
    [delivery] = deliveries(notify_runtime)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 1, None)
    assert PASSWORD not in json.dumps(delivery.message) and SECRET not in json.dumps(delivery.message)


def test_a_success_after_a_failure_is_a_recovery_and_a_plain_success_says_nothing(notify_runtime, receiver):
    add_rule(notify_runtime, events=["run_recovered"], target=receiver.url)
    job_id = add_job(notify_runtime, "Hello", variables=[])
    run(notify_runtime, job_id, {"who": "a"})
    with notify_runtime.db.session() as session:
        session.get(type_of_job(), job_id).job_class_name = "Raises"
    run(notify_runtime, job_id)
    with notify_runtime.db.session() as session:
        session.get(type_of_job(), job_id).job_class_name = "Hello"
    run(notify_runtime, job_id, {"who": "b"})
    drain(notify_runtime)
    assert [body["event"] for body in receiver.json_bodies()] == ["run_recovered"]


def test_n_consecutive_failures_notify_once_when_the_streak_reaches_n(notify_runtime, receiver):
    add_rule(notify_runtime, events=["consecutive_failures"], failures=2, target=receiver.url)
    job_id = add_job(notify_runtime, "Raises")
    for _ in range(3):
        run(notify_runtime, job_id)
    drain(notify_runtime)
    [body] = receiver.json_bodies()
    assert (body["event"], body["failures"]) == ("consecutive_failures", 2)


def test_rules_match_on_job_grouping_and_repository(notify_runtime, receiver):
    wanted = add_job(notify_runtime, "Raises", grouping="network")
    other = add_job(notify_runtime, "Raises", grouping="backups")
    add_rule(notify_runtime, events=["run_failed"], grouping="network", target=receiver.url)
    with notify_runtime.db.session() as session:
        class_path = session.get(type_of_job(), other).class_path
    add_rule(notify_runtime, name="by-job", events=["run_failed"], job=class_path,
             target=receiver.url + "/job")
    add_rule(notify_runtime, name="by-repo", events=["run_failed"], repository="nowhere", target=receiver.url)
    run(notify_runtime, wanted)
    run(notify_runtime, other)
    drain(notify_runtime)
    assert sorted((r["path"], json.loads(r["body"])["grouping"]) for r in receiver.requests) == [
        ("/", "network"), ("/job", "backups")]


def test_a_failed_sync_notifies(notify_runtime, receiver, tmp_path):
    add_rule(notify_runtime, events=["sync_failed"], target=receiver.url)
    with notify_runtime.db.session() as session:
        repository = GitRepository(name="Broken", slug="broken", remote_url=str(tmp_path / "missing"))
        session.add(repository)
        session.flush()
        repository_id = repository.id
    try:
        observed_sync(notify_runtime, repository_id)
    except SyncFailed:
        pass
    else:
        raise AssertionError("the sync of a missing remote should fail")
    drain(notify_runtime)
    [body] = receiver.json_bodies()
    assert (body["event"], body["repository"]) == ("sync_failed", "broken")
    assert body["error"].startswith("Fetch failed")


def test_a_schedule_waiting_for_approval_notifies(notify_runtime, receiver):
    add_rule(notify_runtime, events=["approval_requested"], target=receiver.url)
    with notify_runtime.db.session() as session:
        job = make_job(session, "Hello", approval_required=True)
        create_schedule(session, job, name="nightly", interval_type="daily",
                        start_time=utcnow() + timedelta(hours=1), data={},
                        known_queues=("high", "default", "low"), settings=notify_runtime.settings)
    drain(notify_runtime)
    [body] = receiver.json_bodies()
    assert body["event"] == "approval_requested" and "nightly" in body["title"]


def test_a_queue_without_workers_notifies_once_after_the_rules_minutes(notify_runtime, receiver):
    add_rule(notify_runtime, events=["queue_without_workers"], queue="low", idle_minutes=2,
             target=receiver.url)
    watch, start = QueueWatch(notify_runtime), utcnow()
    for seconds in (0, 61, 62, 121, 150, 181):
        watch(start + timedelta(seconds=seconds))
    drain(notify_runtime)
    [body] = receiver.json_bodies()
    assert (body["event"], body["queue"], body["minutes"]) == ("queue_without_workers", "low", 2)


def test_slack_teams_and_email_channels_get_their_own_bodies(notify_runtime, receiver, smtp):
    add_rule(notify_runtime, name="slack", channel="slack", target=receiver.url + "/slack")
    add_rule(notify_runtime, name="teams", channel="teams", target=receiver.url + "/teams")
    add_rule(notify_runtime, name="mail", channel="email", target="ops@example.com")
    run(notify_runtime, add_job(notify_runtime, "Raises"))
    drain(notify_runtime)
    bodies = {request["path"]: json.loads(request["body"]) for request in receiver.requests}
    assert set(bodies) == {"/slack", "/teams"}
    for body in bodies.values():
        assert list(body) == ["text"]
        assert "Raises failed" in body["text"] and "ValueError: boom" in body["text"]
    [mail] = smtp.messages
    assert mail["to"] == ["ops@example.com"] and "Subject: Raises failed" in mail["data"]
    assert "https://jobsync.example.com/job-results/" in mail["data"]


def test_a_storm_is_throttled_per_rule_and_summarised_in_the_next_message(notify_runtime, receiver):
    notify_runtime.settings = notify_runtime.settings.replace(notify_min_interval_seconds=300)
    rule_id = add_rule(notify_runtime, events=["run_failed"], target=receiver.url)
    job_id = add_job(notify_runtime, "Raises")
    for _ in range(3):
        run(notify_runtime, job_id)
    with notify_runtime.db.session() as session:
        rule = session.get(NotificationRule, rule_id)
        assert rule.suppressed == 2
        rule.last_sent = utcnow() - timedelta(seconds=301)
    run(notify_runtime, job_id)
    drain(notify_runtime)
    assert sorted(body.get("suppressed", 0) for body in receiver.json_bodies()) == [0, 2]  # any order


def test_a_failing_channel_is_retried_then_recorded_failed_without_its_url(notify_runtime, receiver):
    receiver.status = 500
    add_rule(notify_runtime, events=["run_failed"], target=receiver.url + "/token-in-path")
    run(notify_runtime, add_job(notify_runtime, "Raises"))
    drain(notify_runtime)
    [delivery] = deliveries(notify_runtime)
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert delivery.last_error == "HTTP 500 from the webhook"
    assert len(receiver.requests) == 3


def test_a_run_failed_because_its_worker_was_lost_notifies(notify_runtime, receiver):
    from service.models import Status
    from service.scheduling.recovery import fail_lost_runs

    add_rule(notify_runtime, events=["run_failed"], target=receiver.url)
    long_ago = utcnow() - timedelta(hours=1)
    with notify_runtime.db.session() as session:
        job = make_job(session, "Hello")
        make_result(session, job, status=Status.STARTED, started=long_ago, heartbeat=long_ago)
    assert fail_lost_runs(notify_runtime, utcnow()) == 1
    drain(notify_runtime)
    [body] = receiver.json_bodies()
    assert body["event"] == "run_failed" and body["error"].startswith("Worker lost")

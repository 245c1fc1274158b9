"""POST /webhooks/git/<slug>: every provider, every refusal, duplicates, and what each delivery records."""

import io
import json
import uuid
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import update

from service.models import GitRepository, JobResult, Status, utcnow
from tests.helpers.senders import GITHUB, MISSING, PROVIDERS, VALID, WRONG, ZERO
from tests.helpers.webhooks import deliveries, sync_results
from webhooks import git as git_receiver
from webhooks.limits import AddressRateLimit

URL = "/webhooks/git/demo"
SHA = "c0ffee" + "0" * 34


def post(client, provider=GITHUB, body=None, url=URL, **header_options):
    body = provider.body(after=SHA) if body is None else body
    return client.post(url, data=body, headers=provider.headers(body, **header_options))


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_a_signed_push_to_the_branch_answers_202_with_the_sync_it_queued(client, runtime, repository, name):
    provider = PROVIDERS[name]
    response = post(client, provider, delivery_id=f"{name}-1")
    assert response.status_code == 202, response.json
    assert response.json["outcome"] == "accepted"
    [sync] = sync_results(runtime)
    assert response.json["job_result_id"] == str(sync.id)
    assert (sync.status, sync.object_id) == (Status.PENDING, str(repository.id))
    [record] = deliveries(runtime)
    assert (record.provider, record.delivery_id, record.outcome) == (provider.name, f"{name}-1", "accepted")
    assert (record.ref, record.sha, record.sync_result_id) == ("refs/heads/main", SHA, sync.id)


@pytest.mark.parametrize("name", sorted(PROVIDERS))
@pytest.mark.parametrize(
    ("signature", "code"), [(WRONG, "signature_mismatch"), (MISSING, "signature_missing")]
)
def test_a_wrong_or_missing_signature_is_refused_with_401_and_recorded_without_the_body(
    client, runtime, repository, name, signature, code
):
    response = post(client, PROVIDERS[name], signature=signature, delivery_id="claimed-id")
    assert response.status_code == 401
    assert response.json["error"]["code"] == code
    assert sync_results(runtime) == []
    [record] = deliveries(runtime)
    assert (record.outcome, record.delivery_id, record.repository_id) == ("rejected", None, repository.id)
    assert record.sha is None and SHA not in record.reason


def test_an_empty_gitea_signature_sent_when_it_has_no_secret_is_refused(client, runtime, repository):
    provider = PROVIDERS["gitea"]
    body = provider.body()
    headers = {**provider.headers(body, signature=MISSING), "X-Gitea-Signature": ""}
    response = client.post(URL, data=body, headers=headers)
    assert (response.status_code, response.json["error"]["code"]) == (401, "signature_missing")


def test_the_same_delivery_id_again_answers_200_duplicate_and_starts_nothing(client, runtime, repository):
    first = post(client, delivery_id="delivery-1")
    with runtime.db.session() as session:  # the first sync ran: a new one would not be coalesced away
        session.execute(update(JobResult).values(status=Status.SUCCESS))
    again = post(client, delivery_id="delivery-1")
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json["outcome"] == "duplicate" and again.json["job_result_id"] is None
    assert len(sync_results(runtime)) == 1
    assert [record.outcome for record in deliveries(runtime)] == ["accepted", "duplicate"]


def test_an_unsigned_request_cannot_take_a_real_deliverys_id(client, runtime, repository):
    assert post(client, signature=MISSING, delivery_id="delivery-1").status_code == 401
    assert post(client, delivery_id="delivery-1").status_code == 202


def test_pushes_coalesce_into_the_sync_already_waiting(client, runtime, repository):
    answers = [post(client, delivery_id=f"d-{index}").json for index in range(3)]
    assert len({answer["job_result_id"] for answer in answers}) == 1
    assert len(sync_results(runtime)) == 1


def start_syncs(runtime, started):
    with runtime.db.session() as session:  # a worker took them: they may have fetched already
        session.execute(update(JobResult).values(status=Status.STARTED, started=started))


def test_a_push_long_after_the_running_sync_started_queues_the_next_at_once(client, runtime, repository):
    first = post(client, delivery_id="d-1").json["job_result_id"]
    start_syncs(runtime, utcnow() - timedelta(hours=1))
    second = post(client, delivery_id="d-2").json["job_result_id"]
    assert second != first
    with runtime.db.session() as session:
        result = session.get(JobResult, uuid.UUID(second))
        assert result.scheduled_at is None and result.enqueued is not None


def test_a_push_soon_after_a_sync_started_waits_for_the_coalescing_window(client, runtime, repository):
    post(client, delivery_id="d-1")
    started = utcnow()
    start_syncs(runtime, started)
    second = post(client, delivery_id="d-2").json["job_result_id"]
    third = post(client, delivery_id="d-3").json["job_result_id"]
    assert third == second
    with runtime.db.session() as session:
        result = session.get(JobResult, uuid.UUID(second))
    window = timedelta(seconds=runtime.settings.webhook_coalesce_seconds)
    assert result.scheduled_at == started + window
    assert result.enqueued is None  # the scheduler sends it when it falls due


@pytest.mark.parametrize(
    ("ref", "after", "reason"),
    [
        ("refs/heads/feature", SHA, "not branch 'main'"),
        ("refs/tags/v1.0", SHA, "Tag refs/tags/v1.0"),
        ("refs/heads/main", ZERO, "was deleted"),
    ],
)
@pytest.mark.parametrize("name", ["github", "bitbucket-cloud", "bitbucket-server"])
def test_other_branches_tags_and_deletions_are_ignored_with_a_reason(
    client, runtime, repository, name, ref, after, reason
):
    provider = PROVIDERS[name]
    response = post(client, provider, body=provider.body(ref=ref, after=after))
    assert response.status_code == 202
    assert response.json["outcome"] == "ignored" and reason in response.json["reason"]
    assert sync_results(runtime) == []
    [record] = deliveries(runtime)
    assert (record.outcome, record.ref) == ("ignored", ref) and reason in record.reason


@pytest.mark.parametrize("name", ["github", "bitbucket-server", "generic"])
def test_a_ping_answers_200_and_syncs_nothing(client, runtime, repository, name):
    provider = PROVIDERS[name]
    body = b'{"zen": "Keep it logically awesome."}'
    response = post(client, provider, body=body, event_headers=provider.ping_headers)
    assert (response.status_code, response.json["outcome"]) == (200, "ignored")
    assert "Ping" in response.json["reason"] and sync_results(runtime) == []


def test_an_event_that_is_not_a_push_is_ignored_with_202(client, runtime, repository):
    response = post(client, body=b"{}", event_headers={"X-GitHub-Event": "issues"})
    assert (response.status_code, response.json["outcome"]) == (202, "ignored")
    assert "'issues' is not a push" in response.json["reason"]


def test_a_github_form_encoded_delivery_is_accepted_like_json(client, runtime, repository):
    body = urlencode({"payload": GITHUB.body(after=SHA).decode()}).encode()
    headers = {**GITHUB.headers(body), "Content-Type": "application/x-www-form-urlencoded"}
    response = client.post(URL, data=body, headers=headers)
    assert (response.status_code, response.json["outcome"]) == (202, "accepted")


def test_an_unknown_slug_answers_404_and_stores_nothing_only_counts(client, runtime, repository):
    before = git_receiver.unknown_slugs.count
    for _ in range(5):
        response = post(client, url="/webhooks/git/nope")
        assert (response.status_code, response.json["error"]["code"]) == (404, "not_found")
    assert deliveries(runtime) == []
    assert git_receiver.unknown_slugs.count == before + 5


def test_an_oversized_body_for_an_unknown_slug_stores_nothing(client, runtime, settings, repository):
    body = b"x" * (settings.webhook_max_bytes + 1)
    response = client.post("/webhooks/git/nope", data=body, headers=GITHUB.headers(body))
    assert response.status_code == 413 and deliveries(runtime) == []


def test_one_address_over_the_rate_limit_gets_429_and_nothing_is_stored(app, client, runtime, repository):
    app.extensions["webhook_rate_limit"] = AddressRateLimit(3)
    answers = [post(client, url="/webhooks/git/nope").status_code for _ in range(3)]
    refused = post(client)
    assert answers == [404, 404, 404]
    assert (refused.status_code, refused.json["error"]["code"]) == (429, "too_many_requests")
    assert deliveries(runtime) == []
    elsewhere = {"REMOTE_ADDR": "10.0.0.9"}
    other = client.post(URL, data=b"{}", headers=GITHUB.headers(b"{}"), environ_base=elsewhere)
    assert other.status_code != 429


def test_a_repository_without_a_webhook_secret_refuses_deliveries_with_403(client, runtime, repository):
    with runtime.db.session() as session:
        session.execute(update(GitRepository).values(webhook_secret=None))
    response = post(client)
    assert (response.status_code, response.json["error"]["code"]) == (403, "permission_denied")
    assert "webhook secret" in response.json["error"]["message"]
    assert [record.outcome for record in deliveries(runtime)] == ["rejected"]


def test_a_webhook_secret_that_cannot_be_read_refuses_deliveries_with_403(
    client, runtime, repository, monkeypatch
):
    monkeypatch.delenv("JOBSYNC_TEST_WEBHOOK_SECRET")
    response = post(client)
    assert response.status_code == 403
    assert "JOBSYNC_TEST_WEBHOOK_SECRET" not in response.get_data(as_text=True)


class Unreadable(io.BytesIO):
    """A body that fails the test if anyone reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = readinto = read


def test_a_declared_body_over_the_limit_answers_413_before_it_is_read(client, runtime, repository):
    limit = runtime.settings.webhook_max_bytes
    response = client.post(
        URL,
        input_stream=Unreadable(),
        headers=GITHUB.headers(b""),
        environ_overrides={"CONTENT_LENGTH": str(limit + 1)},
    )
    assert (response.status_code, response.json["error"]["code"]) == (413, "request_entity_too_large")
    assert [record.outcome for record in deliveries(runtime)] == ["rejected"]


def test_a_body_without_a_length_is_cut_off_at_the_limit_with_413(client, runtime, repository):
    limit = runtime.settings.webhook_max_bytes
    oversize = io.BytesIO(b" " * (limit + 10))
    response = client.post(
        URL,
        input_stream=oversize,
        headers=GITHUB.headers(b""),
        environ_overrides={"CONTENT_LENGTH": "", "wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert 0 < oversize.tell() <= limit + 1  # read, but no further than one byte past the limit


def test_malformed_json_answers_400_naming_the_body(client, runtime, repository):
    response = post(client, body=b"{not json")
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {"body": ["Must be valid JSON."]}
    assert [record.outcome for record in deliveries(runtime)] == ["rejected"]


def test_a_push_missing_ref_and_after_answers_400_naming_both(client, runtime, repository):
    response = post(client, body=json.dumps({"before": "b" * 40}).encode())
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == {"ref", "after"}


def test_headers_of_no_known_provider_answer_400(client, runtime, repository):
    response = client.post(URL, data=b"{}", headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json["error"]["code"]) == (400, "unsupported_provider")
    assert deliveries(runtime)[0].provider == "unknown"


def test_a_sync_that_cannot_be_queued_leaves_the_delivery_id_free_for_the_senders_retry(
    client, runtime, repository, monkeypatch
):
    from service.sources import deliveries as deliveries_module

    def broken(session, repository, **options):
        raise ConnectionError("database gone")

    with monkeypatch.context() as patch:
        patch.setattr(deliveries_module, "request_sync", broken)
        assert post(client, delivery_id="retried").status_code == 500
    assert post(client, delivery_id="retried").json["outcome"] == "accepted"
    assert [record.outcome for record in deliveries(runtime)] == ["accepted"]


def test_responses_never_show_the_secret(client, runtime, repository):
    for signature in (VALID, WRONG, MISSING):
        text = post(client, signature=signature, delivery_id=str(uuid.uuid4())).get_data(as_text=True)
        assert "Secret to Everybody" not in text

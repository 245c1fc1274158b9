"""``/api/extras/git-repositories/``: register a real git repository, sync it, see its jobs."""

import uuid

import pytest

from service.worker.engine import run_job_result
from tests.helpers.git import make_remote
from tests.helpers.job_sources import SELF_REGISTERING


@pytest.fixture
def syncer(make_caller):
    return make_caller("sync_repository")


@pytest.fixture
def manager(make_caller):
    return make_caller("manage_repository")


@pytest.fixture
def remote(tmp_path):
    _, bare = make_remote(tmp_path / "git", SELF_REGISTERING)
    return str(bare)


def test_a_registered_repository_syncs_and_its_jobs_appear(client, manager, syncer, remote, runtime):
    created = client.post(
        "/api/extras/git-repositories/", headers=manager.headers, json={"name": "Demo", "remote_url": remote})
    assert created.status_code == 201, created.get_json()
    repository = created.get_json()
    assert repository["slug"] == "demo" and repository["credentials"] is None
    assert repository["current_head"] is None and repository["object_type"] == "extras.gitrepository"

    synced = client.post(f"{repository['url']}sync/", headers=syncer.headers)
    assert synced.status_code == 200
    result = synced.get_json()["job_result"]
    assert result["status"]["value"] == "PENDING" and "Demo" in synced.get_json()["message"]

    run_job_result(runtime, result["id"])  # what a worker would do with the message
    done = client.get(result["url"], headers=syncer.headers).get_json()
    assert done["status"]["value"] == "SUCCESS", done["error"]
    jobs = client.get("/api/extras/jobs/?job_class_name=Hello", headers=syncer.headers).get_json()["results"]
    assert [job["repository"]["display"] for job in jobs] == ["Demo"]
    assert client.get(repository["url"], headers=syncer.headers).get_json()["current_head"]


def test_a_sync_already_waiting_absorbs_another_request(client, manager, syncer, remote):
    url = client.post(
        "/api/extras/git-repositories/", headers=manager.headers, json={"name": "Demo", "remote_url": remote}
    ).get_json()["url"]
    first = client.post(f"{url}sync/", headers=syncer.headers).get_json()["job_result"]["id"]
    second = client.post(f"{url}sync/", headers=syncer.headers).get_json()["job_result"]["id"]
    assert first == second
    every = client.post("/api/extras/git-repositories/sync-all/", headers=syncer.headers).get_json()
    assert [result["id"] for result in every["job_results"]] == [first]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Bad", "remote_url": "ftp://example.com/x.git"}, "remote_url"),
        ({"name": "Bad", "remote_url": "https://example.com/x.git", "credentials": "hunter2"}, "credentials"),
        ({"name": "Bad", "remote_url": "https://example.com/x.git", "credentials": "env:JOBSYNC_SECRET_KEY"},
         "credentials"),
        ({"name": "Bad", "remote_url": "https://example.com/x.git", "credentials": "file:/proc/self/environ"},
         "credentials"),
        ({"name": "Bad", "remote_url": "https://example.com/x.git", "branch": "a..b"}, "branch"),
        ({"name": "Bad", "remote_url": "https://example.com/x.git", "slug": "not a slug"}, "slug"),
        ({"remote_url": "https://example.com/x.git"}, "name"),
    ],
)
def test_a_bad_repository_is_a_400_naming_the_field(client, manager, body, field):
    response = client.post("/api/extras/git-repositories/", headers=manager.headers, json=body)
    assert response.status_code == 400 and field in response.get_json()
    assert "hunter2" not in response.get_data(as_text=True)


def test_a_repository_is_changed_filtered_and_removed(client, manager, syncer):
    url = client.post(
        "/api/extras/git-repositories/",
        headers=manager.headers,
        json={"name": "Demo", "remote_url": "https://git.example.com/demo.git"},
    ).get_json()["url"]
    changed = client.patch(url, headers=manager.headers, json={"branch": "develop"})
    assert changed.status_code == 200 and changed.get_json()["branch"] == "develop"
    renamed_slug = client.patch(url, headers=manager.headers, json={"slug": "other"})
    assert renamed_slug.status_code == 400 and "slug" in renamed_slug.get_json()
    page = client.get("/api/extras/git-repositories/?slug=demo", headers=syncer.headers).get_json()
    assert page["count"] == 1
    assert client.delete(url, headers=manager.headers).status_code == 204
    assert client.get(url, headers=syncer.headers).status_code == 404
    assert (
        client.post(f"/api/extras/git-repositories/{uuid.uuid4()}/sync/", headers=syncer.headers).status_code
        == 404
    )


def test_sync_repository_only_resyncs_registering_or_changing_needs_manage_repository(
        client, manager, syncer, remote):
    refused = client.post("/api/extras/git-repositories/", headers=syncer.headers,
                          json={"name": "Mine", "remote_url": "https://attacker.example/jobs.git"})
    assert refused.status_code == 403 and "manage_repository" in refused.get_json()["detail"]
    url = client.post("/api/extras/git-repositories/", headers=manager.headers,
                      json={"name": "Demo", "remote_url": remote}).get_json()["url"]
    for change in ({"remote_url": "https://attacker.example/jobs.git"}, {"branch": "evil"},
                   {"credentials": "github_ro"}, {"webhook_secret": "env:X"}):
        assert client.patch(url, headers=syncer.headers, json=change).status_code == 403
    assert client.delete(url, headers=syncer.headers).status_code == 403
    assert client.post(f"{url}sync/", headers=syncer.headers).status_code == 200
    assert client.post(f"{url}sync/", headers=manager.headers).status_code == 200  # implies sync


def test_a_credential_is_accepted_only_for_a_remote_on_one_of_its_hosts(settings, manager):
    from service import bootstrap
    from service.app import create_app

    credentials = {"github_ro": {"secret": "env:GIT_TOKEN", "hosts": ["github.com"]}}
    client = create_app(runtime=bootstrap.configure(settings.replace(credentials=credentials))).test_client()
    created = client.post("/api/extras/git-repositories/", headers=manager.headers, json={
        "name": "Demo", "remote_url": "https://github.com/acme/jobs.git", "credentials": "github_ro"})
    assert created.status_code == 201 and created.get_json()["credentials"] == "github_ro"
    moved = client.patch(created.get_json()["url"], headers=manager.headers,
                         json={"remote_url": "https://attacker.example/acme/jobs.git"})
    assert moved.status_code == 400 and "credentials" in moved.get_json()
    elsewhere = client.post("/api/extras/git-repositories/", headers=manager.headers, json={
        "name": "Other", "remote_url": "https://attacker.example/jobs.git", "credentials": "github_ro"})
    assert elsewhere.status_code == 400 and "credentials" in elsewhere.get_json()

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
def remote(tmp_path):
    _, bare = make_remote(tmp_path / "git", SELF_REGISTERING)
    return str(bare)


def test_a_registered_repository_syncs_and_its_jobs_appear(client, syncer, remote, monkeypatch, runtime):
    monkeypatch.setenv("DEMO_TOKEN", "not-needed-for-a-local-remote")
    created = client.post(
        "/api/extras/git-repositories/",
        headers=syncer.headers,
        json={"name": "Demo", "remote_url": remote, "credentials": "env:DEMO_TOKEN"},
    )
    assert created.status_code == 201, created.get_json()
    repository = created.get_json()
    assert repository["slug"] == "demo" and repository["credentials"] == "env:DEMO_TOKEN"
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


def test_a_sync_already_waiting_absorbs_another_request(client, syncer, remote):
    url = client.post(
        "/api/extras/git-repositories/", headers=syncer.headers, json={"name": "Demo", "remote_url": remote}
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
        ({"name": "Bad", "remote_url": "https://example.com/x.git", "branch": "a..b"}, "branch"),
        ({"name": "Bad", "remote_url": "https://example.com/x.git", "slug": "not a slug"}, "slug"),
        ({"remote_url": "https://example.com/x.git"}, "name"),
    ],
)
def test_a_bad_repository_is_a_400_naming_the_field(client, syncer, body, field):
    response = client.post("/api/extras/git-repositories/", headers=syncer.headers, json=body)
    assert response.status_code == 400 and field in response.get_json()
    assert "hunter2" not in response.get_data(as_text=True)


def test_a_repository_is_changed_filtered_and_removed(client, syncer):
    url = client.post(
        "/api/extras/git-repositories/",
        headers=syncer.headers,
        json={"name": "Demo", "remote_url": "https://git.example.com/demo.git"},
    ).get_json()["url"]
    changed = client.patch(url, headers=syncer.headers, json={"branch": "develop"})
    assert changed.status_code == 200 and changed.get_json()["branch"] == "develop"
    renamed_slug = client.patch(url, headers=syncer.headers, json={"slug": "other"})
    assert renamed_slug.status_code == 400 and "slug" in renamed_slug.get_json()
    page = client.get("/api/extras/git-repositories/?slug=demo", headers=syncer.headers).get_json()
    assert page["count"] == 1
    assert client.delete(url, headers=syncer.headers).status_code == 204
    assert client.get(url, headers=syncer.headers).status_code == 404
    assert (
        client.post(f"/api/extras/git-repositories/{uuid.uuid4()}/sync/", headers=syncer.headers).status_code
        == 404
    )

"""``jobsync repo``: add, list, sync, remove, and refusals with one line and exit 2."""

import json

import pytest
from click.testing import CliRunner

from service.cli import main
from tests.helpers.git import head


@pytest.fixture
def jobsync(cli_env):
    runner = CliRunner(env=cli_env)

    def invoke(*args):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


@pytest.mark.parametrize(
    "url",
    [
        "ext::sh -c touch% /tmp/pwned",
        "fd::17",
        "ssh://-oProxyCommand=x/y",
        "-u/repo",
        "https://h/a/../b",
        "https://user:tok3n@example.com/x.git",
        "http://example.com/x.git",
    ],
)
def test_repo_add_refuses_unsafe_urls_naming_the_field(jobsync, url):
    result = jobsync("repo", "add", "--", "bad", url)
    assert result.exit_code == 2
    assert "remote_url" in result.output
    assert "tok3n" not in result.output


def test_repo_add_refuses_a_branch_starting_with_a_dash(jobsync, remote):
    _, bare = remote
    result = jobsync("repo", "add", "demo", str(bare), "--branch", "--upload-pack=x")
    assert result.exit_code == 2 and "branch" in result.output


def test_repo_add_list_sync_remove(jobsync, remote):
    work, bare = remote
    assert jobsync("repo", "add", "Demo Jobs", str(bare)).exit_code == 0
    listed = json.loads(jobsync("repo", "list", "--json").output)
    assert [(r["name"], r["slug"], r["current_head"]) for r in listed] == [("Demo Jobs", "demo_jobs", None)]

    synced = jobsync("repo", "sync", "demo_jobs")
    assert synced.exit_code == 0, synced.output
    assert "Added demo_jobs/jobs.hello/Hello" in synced.output and "SUCCESS" in synced.output
    listed = json.loads(jobsync("repo", "list", "--json").output)
    assert listed[0]["current_head"] == head(work)[:12] and listed[0]["sync_status"] == "completed"

    assert jobsync("repo", "remove", "demo_jobs").exit_code == 0
    assert json.loads(jobsync("repo", "list", "--json").output) == []


def test_repo_sync_of_an_unknown_repository_fails_with_one_line(jobsync):
    result = jobsync("repo", "sync", "nope")
    assert result.exit_code == 1 and "No repository nope" in result.output

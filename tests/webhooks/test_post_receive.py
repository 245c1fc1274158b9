"""The README's plain git post-receive hook, run by a real push, against a real HTTP server."""

import re
import stat
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from service.app import create_app
from tests.helpers.git import commit, git, make_remote, push
from tests.helpers.senders import SECRET
from tests.helpers.webhooks import deliveries

README = Path(__file__).resolve().parents[2] / "README.md"

def readme_hook() -> str:
    """Return the post-receive script exactly as the README shows it."""
    match = re.search(r"<!-- post-receive -->\n```sh\n(.*?)```", README.read_text(), re.DOTALL)
    assert match, "the README lost its post-receive hook"
    return match.group(1)


@pytest.fixture
def server_url(runtime):
    server = make_server("127.0.0.1", 0, create_app(runtime=runtime), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def test_the_readme_post_receive_hook_reports_each_push_to_jobsync(
    runtime, repository, server_url, tmp_path, monkeypatch
):
    work, remote = make_remote(tmp_path / "git")
    hook = remote / "hooks" / "post-receive"
    hook.write_text(readme_hook())
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("JOBSYNC_URL", f"{server_url}/webhooks/git/demo")
    monkeypatch.setenv("JOBSYNC_WEBHOOK_SECRET", SECRET)

    head = commit(work, "to main")
    push(work, "main")
    git(work, "checkout", "--quiet", "-b", "feature")
    commit(work, "to a feature")
    push(work, "feature")

    accepted, ignored = deliveries(runtime)
    assert (accepted.provider, accepted.outcome, accepted.ref, accepted.sha) == (
        "generic",
        "accepted",
        "refs/heads/main",
        head,
    )
    assert accepted.sync_result_id is not None
    assert (ignored.outcome, ignored.ref) == ("ignored", "refs/heads/feature")

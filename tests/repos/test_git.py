import multiprocessing
import os
import socket
import stat
import traceback
from pathlib import Path

import pytest

from repos.credentials import Credentials, credentials_environment, resolve_named_credentials
from repos.errors import CredentialsUnavailable, RefNotFound, RemoteUnreachable
from repos.git import (
    GitSettings,
    checkout_path,
    collect_garbage,
    ensure_checkout,
    extract_commit,
    fetch,
    has_commit,
    is_ancestor,
    mirror_path,
    remove_repository_files,
    repository_lock,
    resolve_credentials,
)
from service.jobs.errors import ValidationError
from tests.helpers import git as gitfixtures
from tests.helpers.servers import wait_until

LOCAL = GitSettings(timeout=30, allow_local=True)
TOKEN = "ghp_S3cretTokenValue0123456789abcdefABCD"


@pytest.fixture
def remote(tmp_path):
    work, bare = gitfixtures.make_remote(tmp_path, {"jobs/__init__.py": "VERSION = 1\n"})
    return work, bare


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


def test_fetch_returns_the_branch_head_and_checkout_materialises_its_tree(remote, data_dir):
    work, bare = remote
    sha = fetch(data_dir, "demo", str(bare), "main", settings=LOCAL)
    assert sha == gitfixtures.head(work)
    checkout = ensure_checkout(data_dir, "demo", sha)
    assert checkout == checkout_path(data_dir, "demo", sha) == data_dir / "repos" / "demo" / sha
    assert (checkout / "jobs" / "__init__.py").read_text() == "VERSION = 1\n"
    assert not (checkout / ".git").exists()


def test_checkout_is_read_only(remote, data_dir):
    _work, bare = remote
    checkout = ensure_checkout(data_dir, "demo", fetch(data_dir, "demo", str(bare), "main", settings=LOCAL))
    for path in [checkout, checkout / "jobs", checkout / "jobs" / "__init__.py"]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o222 == 0, path


def test_second_checkout_of_the_same_commit_reuses_the_first(remote, data_dir):
    _work, bare = remote
    sha = fetch(data_dir, "demo", str(bare), "main", settings=LOCAL)
    first = ensure_checkout(data_dir, "demo", sha)
    inode = (first / "jobs" / "__init__.py").stat().st_ino
    second = ensure_checkout(data_dir, "demo", sha)
    assert second == first
    assert (second / "jobs" / "__init__.py").stat().st_ino == inode
    assert [entry.name for entry in first.parent.iterdir() if entry.name.endswith(".tmp")] == []


def test_mirror_is_bare_and_does_not_store_the_remote_url(remote, data_dir):
    _work, bare = remote
    fetch(data_dir, "demo", str(bare), "main", settings=LOCAL)
    mirror = mirror_path(data_dir, "demo")
    assert (mirror / "HEAD").is_file()
    assert str(bare) not in (mirror / "config").read_text()
    assert not (mirror / "FETCH_HEAD").exists()


def test_incremental_fetch_sees_a_new_commit(remote, data_dir):
    work, bare = remote
    first = fetch(data_dir, "demo", str(bare), "main", settings=LOCAL)
    gitfixtures.write_files(work, {"jobs/__init__.py": "VERSION = 2\n"})
    second_commit = gitfixtures.commit(work)
    gitfixtures.push(work, "main")
    second = fetch(data_dir, "demo", str(bare), "main", settings=LOCAL)
    assert second == second_commit != first
    assert (ensure_checkout(data_dir, "demo", second) / "jobs" / "__init__.py").read_text() == "VERSION = 2\n"
    assert (ensure_checkout(data_dir, "demo", first) / "jobs" / "__init__.py").read_text() == "VERSION = 1\n"


def test_fetch_follows_a_force_push_to_unrelated_history(remote, data_dir):
    work, bare = remote
    fetch(data_dir, "demo", str(bare), "main", settings=LOCAL)
    rewritten = gitfixtures.orphan_commit(work, {"jobs/__init__.py": "VERSION = 'rewritten'\n"})
    gitfixtures.push(work, "main", force=True)
    assert fetch(data_dir, "demo", str(bare), "main", settings=LOCAL) == rewritten
    checkout = ensure_checkout(data_dir, "demo", rewritten)
    assert (checkout / "jobs" / "__init__.py").read_text() == "VERSION = 'rewritten'\n"


def test_fetch_follows_a_branch_moved_backwards(remote, data_dir):
    work, bare = remote
    first = gitfixtures.head(work)
    gitfixtures.commit(work, "second")
    gitfixtures.push(work, "main")
    assert fetch(data_dir, "demo", str(bare), "main", settings=LOCAL) != first
    gitfixtures.git(work, "reset", "--quiet", "--hard", first)
    gitfixtures.push(work, "main", force=True)
    assert fetch(data_dir, "demo", str(bare), "main", settings=LOCAL) == first


def test_fetch_resolves_tags_and_abbreviated_shas(remote, data_dir):
    work, bare = remote
    tagged = gitfixtures.head(work)
    gitfixtures.git(work, "tag", "-a", "-m", "release", "v1.0")
    gitfixtures.git(work, "push", "--quiet", "origin", "v1.0")
    gitfixtures.commit(work, "after the tag")
    gitfixtures.push(work, "main")
    assert fetch(data_dir, "demo", str(bare), "v1.0", settings=LOCAL) == tagged
    assert fetch(data_dir, "demo", str(bare), tagged[:10], settings=LOCAL) == tagged


def test_fetch_of_a_deleted_branch_raises_ref_not_found(remote, data_dir):
    work, bare = remote
    gitfixtures.git(work, "checkout", "--quiet", "-b", "feature")
    gitfixtures.push(work, "feature")
    fetch(data_dir, "demo", str(bare), "feature", settings=LOCAL)
    gitfixtures.delete_remote_branch(work, "feature")
    with pytest.raises(RefNotFound, match="feature"):
        fetch(data_dir, "demo", str(bare), "feature", settings=LOCAL)


def test_fetch_of_a_missing_branch_raises_ref_not_found(remote, data_dir):
    _work, bare = remote
    with pytest.raises(RefNotFound):
        fetch(data_dir, "demo", str(bare), "no-such-branch", settings=LOCAL)


def test_fetch_from_a_missing_repository_raises_remote_unreachable(tmp_path, data_dir):
    with pytest.raises(RemoteUnreachable, match="Could not fetch"):
        fetch(data_dir, "demo", str(tmp_path / "missing.git"), "main", settings=LOCAL)


def test_fetch_refuses_a_local_remote_unless_allowed_before_running_git(remote, data_dir):
    _work, bare = remote
    with pytest.raises(ValidationError) as caught:
        fetch(data_dir, "demo", str(bare), "main", settings=GitSettings(allow_local=False))
    assert list(caught.value.fields) == ["remote_url"]
    assert not mirror_path(data_dir, "demo").exists()


def test_fetch_refuses_a_bad_branch_name(remote, data_dir):
    _work, bare = remote
    with pytest.raises(ValidationError) as caught:
        fetch(data_dir, "demo", str(bare), "--upload-pack=touch", settings=LOCAL)
    assert list(caught.value.fields) == ["branch"]


def test_a_token_never_appears_in_errors_config_or_files(monkeypatch, data_dir):
    monkeypatch.setenv("JOBSYNC_TEST_TOKEN", TOKEN)
    credentials = resolve_named_credentials(
        "local", {"local": {"secret": "env:JOBSYNC_TEST_TOKEN", "hosts": ["127.0.0.1"]}},
        "https://127.0.0.1:9/x.git")
    with pytest.raises(RemoteUnreachable) as caught:
        fetch(data_dir, "demo", "https://127.0.0.1:9/x.git", "main", credentials=credentials, settings=LOCAL)
    forms = credentials.redactions()
    rendered = "".join(traceback.format_exception(caught.value)) + repr(caught.value)
    assert "127.0.0.1:9" in rendered
    assert not any(form in rendered for form in forms)
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    assert "[remote" not in (mirror_path(data_dir, "demo") / "config").read_text()
    for path in data_dir.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert not any(form.encode() in content for form in forms), path


def test_a_remote_that_never_answers_times_out_as_unreachable(data_dir):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"https://127.0.0.1:{silent.getsockname()[1]}/x.git"
        with pytest.raises(RemoteUnreachable, match="timed out after 1 s"):
            fetch(data_dir, "demo", url, "main", settings=GitSettings(timeout=1))


def test_credentials_from_env_hide_the_secret_in_repr(monkeypatch):
    monkeypatch.setenv("JOBSYNC_TEST_TOKEN", f"  {TOKEN}\n")
    credentials = resolve_credentials("env:JOBSYNC_TEST_TOKEN")
    assert credentials.secret == TOKEN
    assert not credentials.is_ssh_key
    assert TOKEN not in repr(credentials)


def test_credentials_from_a_file(tmp_path):
    secret_file = tmp_path / "token"
    secret_file.write_text(TOKEN + "\n")
    assert resolve_credentials(f"file:{secret_file}").secret == TOKEN


def test_missing_credentials_name_the_reference_and_not_the_secret(monkeypatch, tmp_path):
    monkeypatch.delenv("JOBSYNC_TEST_MISSING", raising=False)
    with pytest.raises(CredentialsUnavailable, match="env:JOBSYNC_TEST_MISSING"):
        resolve_credentials("env:JOBSYNC_TEST_MISSING")
    with pytest.raises(CredentialsUnavailable, match="file:"):
        resolve_credentials(f"file:{tmp_path / 'absent'}")


@pytest.mark.parametrize("reference", ["token:abc", "env:", "env:1BAD", "file:relative/path", TOKEN])
def test_unknown_credentials_reference_forms_are_a_validation_error_on_credentials(reference):
    with pytest.raises(ValidationError) as caught:
        resolve_credentials(reference)
    assert list(caught.value.fields) == ["credentials"]
    assert TOKEN not in str(caught.value)


def test_no_credentials_reference_means_no_credentials():
    assert resolve_credentials(None) is None
    assert resolve_credentials("") is None


def test_a_token_is_handed_to_git_as_an_http_header_through_the_environment():
    with credentials_environment(Credentials("env:X", TOKEN)) as env:
        assert env["GIT_CONFIG_KEY_0"] == "http.extraHeader"
        assert env["GIT_CONFIG_VALUE_0"].startswith("Authorization: Basic ")
        assert TOKEN not in env["GIT_SSH_COMMAND"]


def test_an_ssh_key_is_written_to_a_private_file_removed_afterwards():
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----"
    credentials = Credentials("file:/keys/deploy", key)
    assert credentials.is_ssh_key
    with credentials_environment(credentials) as env:
        assert "BatchMode=yes" in env["GIT_SSH_COMMAND"] and "IdentitiesOnly=yes" in env["GIT_SSH_COMMAND"]
        key_path = Path(env["GIT_SSH_COMMAND"].split(" -i ")[1])
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
        assert key_path.read_text() == key + "\n"
        assert "GIT_CONFIG_COUNT" not in env
    assert not key_path.exists()


def test_checkout_of_a_commit_missing_from_the_mirror_raises_ref_not_found(remote, data_dir):
    _work, bare = remote
    fetch(data_dir, "demo", str(bare), "main", settings=LOCAL)
    with pytest.raises(RefNotFound):
        ensure_checkout(data_dir, "demo", "0" * 40)
    with pytest.raises(RefNotFound):
        ensure_checkout(data_dir, "never_fetched", "0" * 40)


@pytest.mark.parametrize("slug", ["../escape", "Demo", "a/b", ""])
def test_paths_refuse_slugs_that_could_escape_the_data_dir(data_dir, slug):
    with pytest.raises(ValidationError):
        mirror_path(data_dir, slug)


def test_checkout_path_requires_a_full_sha(data_dir):
    with pytest.raises(ValidationError):
        checkout_path(data_dir, "demo", "abc123")


def _checkout_in_child(data_dir, sha, results):
    results.put(str(ensure_checkout(data_dir, "demo", sha)))


def test_concurrent_checkouts_of_one_commit_all_get_the_same_tree(remote, data_dir):
    _work, bare = remote
    sha = fetch(data_dir, "demo", str(bare), "main", settings=LOCAL)
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = [context.Process(target=_checkout_in_child, args=(data_dir, sha, results)) for _ in range(3)]
    for worker in workers:
        worker.start()
    paths = {results.get(timeout=30) for _ in workers}
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    assert paths == {str(checkout_path(data_dir, "demo", sha))}
    assert sorted(entry.name for entry in (data_dir / "repos" / "demo").iterdir()) == [
        ".lock",
        sha,
        "mirror.git",
    ]


def _append_under_lock(data_dir, log_path):
    with repository_lock(data_dir, "demo"):
        with open(log_path, "a") as log:
            log.write("child\n")


def _lock_waiters(lock_file: Path) -> list[str]:
    inode = f":{lock_file.stat().st_ino} "
    return [line for line in Path("/proc/locks").read_text().splitlines() if "->" in line and inode in line]


def test_repository_lock_serialises_processes(data_dir, tmp_path):
    log_path = tmp_path / "log"
    context = multiprocessing.get_context("fork")
    with repository_lock(data_dir, "demo"):
        child = context.Process(target=_append_under_lock, args=(data_dir, log_path))
        child.start()
        wait_until(lambda: _lock_waiters(data_dir / "repos" / "demo" / ".lock"), timeout=10)
        assert not log_path.exists()
        log_path.write_text("parent\n")
    child.join(timeout=10)
    assert child.exitcode == 0
    assert log_path.read_text() == "parent\nchild\n"


def test_repository_lock_is_reentrant_within_a_thread(data_dir):
    with repository_lock(data_dir, "demo"), repository_lock(data_dir, "demo"):
        assert (data_dir / "repos" / "demo" / ".lock").exists()


def test_garbage_collection_removes_checkouts_not_kept(remote, data_dir):
    work, bare = remote
    old = fetch(data_dir, "demo", str(bare), "main", settings=LOCAL)
    ensure_checkout(data_dir, "demo", old)
    gitfixtures.commit(work, "new")
    gitfixtures.push(work, "main")
    new = fetch(data_dir, "demo", str(bare), "main", settings=LOCAL)
    ensure_checkout(data_dir, "demo", new)
    assert collect_garbage(data_dir, "demo", keep={new}) == [old]
    assert not checkout_path(data_dir, "demo", old).exists()
    assert checkout_path(data_dir, "demo", new).is_dir()
    assert mirror_path(data_dir, "demo").is_dir()
    assert collect_garbage(data_dir, "demo", keep={new}) == []
    assert collect_garbage(data_dir, "unknown", keep=set()) == []


def test_remove_repository_files_deletes_mirror_and_read_only_checkouts(remote, data_dir):
    _work, bare = remote
    ensure_checkout(data_dir, "demo", fetch(data_dir, "demo", str(bare), "main", settings=LOCAL))
    remove_repository_files(data_dir, "demo")
    assert not (data_dir / "repos" / "demo").exists()
    remove_repository_files(data_dir, "demo")


def test_checkout_skips_symlinks_that_point_outside_the_tree(tmp_path, data_dir):
    work, bare = gitfixtures.make_remote(tmp_path, {"jobs/__init__.py": ""})
    os.symlink("/etc/passwd", work / "jobs" / "outside")
    os.symlink("__init__.py", work / "jobs" / "inside")
    gitfixtures.commit(work, "links")
    gitfixtures.push(work, "main")
    checkout = ensure_checkout(data_dir, "demo", fetch(data_dir, "demo", str(bare), "main", settings=LOCAL))
    assert not (checkout / "jobs" / "outside").is_symlink()
    assert (checkout / "jobs" / "inside").is_symlink()


def test_extracting_on_a_host_that_never_fetched_raises_ref_not_found_not_a_path_error(remote, data_dir):
    work, _bare = remote
    with pytest.raises(RefNotFound):
        extract_commit(mirror_path(data_dir, "demo"), gitfixtures.head(work), data_dir / "out", LOCAL)
    assert not has_commit(mirror_path(data_dir, "demo"), gitfixtures.head(work))


def test_ancestry_says_which_of_two_commits_is_newer(remote, data_dir):
    work, bare = remote
    first = gitfixtures.head(work)
    second = gitfixtures.commit(work, "second")
    gitfixtures.push(work, "main")
    fetch(data_dir, "demo", str(bare), "main", settings=LOCAL)
    mirror = mirror_path(data_dir, "demo")
    assert is_ancestor(mirror, first, second) and not is_ancestor(mirror, second, first)
    assert has_commit(mirror, first) and not has_commit(mirror, "0" * 40)

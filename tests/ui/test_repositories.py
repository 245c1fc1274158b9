"""Repositories: registering, editing, removing, syncing from the page, and the sync history."""

from sqlalchemy import select

from service.jobs.runner import runner_path
from service.models import GitRepository, JobResult, Status, User
from service.sources.sync import SyncRepository
from service.ui.formatting import commit_url, display_remote
from tests.helpers.ui import post

OLD, NEW = "1" * 40, "2" * 40


def make_repository(session, **fields):
    values = dict(name="Team jobs", slug="team", remote_url="https://git.example.com/team/jobs.git")
    values.update(fields)
    repository = GitRepository(**values)
    session.add(repository)
    session.flush()
    return repository


def test_an_admin_adds_a_repository_and_bad_fields_come_back_with_errors(runtime, admin, tmp_path):
    bad = post(admin, "/repositories/add", {"name": "", "remote_url": "ftp://nope", "branch": "main"})
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert "This field may not be blank." in page and 'value="ftp://nope"' in page
    response = post(
        admin,
        "/repositories/add",
        {
            "name": "Samples",
            "remote_url": str(tmp_path),
            "branch": "main",
            "webhook_secret": "env:SAMPLES_SECRET",
        },
    )
    assert response.status_code == 303 and response.headers["Location"] == "/repositories/samples/"
    with runtime.db.session() as session:
        added = session.scalars(select(GitRepository)).one()
        assert (added.slug, added.webhook_secret) == ("samples", "env:SAMPLES_SECRET")


def test_managing_repositories_needs_the_manage_repository_permission(runtime, login, users):
    """sync_repository only re-syncs: registering or changing what code the workers run needs more."""
    with runtime.db.session() as session:
        make_repository(session)
        session.get(User, users["bob"]).permissions = ["sync_repository"]
    bob = login("bob")
    assert bob.get("/repositories/add").status_code == 403
    assert bob.get("/repositories/team/edit").status_code == 403
    change = {"name": "Team jobs", "branch": "evil", "remote_url": "https://attacker.example/x.git"}
    assert post(bob, "/repositories/team/edit", change).status_code == 403
    assert post(bob, "/repositories/team/delete").status_code == 403
    assert post(bob, "/repositories/team/sync").status_code == 303


def test_an_admin_edits_and_removes_a_repository(runtime, admin):
    with runtime.db.session() as session:
        make_repository(session)
    form = admin.get("/repositories/team/edit").get_data(as_text=True)
    assert 'value="https://git.example.com/team/jobs.git"' in form
    response = post(
        admin,
        "/repositories/team/edit",
        {"name": "Team jobs", "branch": "develop", "remote_url": "https://git.example.com/team/jobs.git"},
    )
    assert response.status_code == 303
    with runtime.db.session() as session:
        assert session.scalars(select(GitRepository)).one().branch == "develop"
    assert post(admin, "/repositories/team/delete").status_code == 303
    with runtime.db.session() as session:
        assert session.scalars(select(GitRepository)).all() == []


def test_the_repository_page_shows_the_webhook_url_hints_and_each_syncs_diff(runtime, alice):
    with runtime.db.session() as session:
        repository = make_repository(
            session,
            current_head=NEW,
            sync_status="completed",
            credentials="env:TOKEN",
            webhook_secret="env:HOOK",
        )
        common = dict(
            name="Sync repository",
            class_path=runner_path(SyncRepository),
            runner=runner_path(SyncRepository),
            object_type="git_repositories",
            object_id=str(repository.id),
        )
        session.add_all(
            [
                JobResult(
                    **common,
                    status=Status.SUCCESS,
                    result={
                        "old_head": OLD,
                        "new_head": NEW,
                        "changed": True,
                        "added": ["team/jobs.a/A"],
                        "updated": ["team/jobs.b/B"],
                        "removed": ["team/jobs.c/C"],
                        "reinstalled": [],
                        "errors": [],
                        "module_errors": [{"module": "jobs.d", "error": "SyntaxError: bad"}],
                    },
                ),
                JobResult(**common, status=Status.FAILURE, error="Fetch failed: unreachable"),
            ]
        )
    page = alice.get("/repositories/team/").get_data(as_text=True)
    assert '<code id="webhook-url">http://localhost/webhooks/git/team</code>' in page
    assert "GitHub" in page and "X-Gitlab-Token" not in page and "GitLab" in page
    assert f'href="https://git.example.com/team/jobs/commit/{NEW}"' in page
    assert "team/jobs.a/A" in page and "team/jobs.b/B" in page and "team/jobs.c/C" in page
    assert "SyntaxError: bad" in page and "Fetch failed: unreachable" in page
    assert "env:TOKEN" not in page and "env:HOOK" not in page


def test_the_sync_button_queues_a_sync_and_opens_its_run(runtime, login, users):
    with runtime.db.session() as session:
        make_repository(session)
        session.get(User, users["bob"]).permissions = ["sync_repository"]
    bob = login("bob")
    response = post(bob, "/repositories/team/sync")
    assert response.status_code == 303
    with runtime.db.session() as session:
        run = session.scalars(select(JobResult)).one()
        assert run.runner == runner_path(SyncRepository) and run.user_id == users["bob"]
        assert response.headers["Location"] == f"/job-results/{run.id}/"


def test_syncing_needs_the_sync_repository_permission(runtime, alice):
    with runtime.db.session() as session:
        make_repository(session)
    assert post(alice, "/repositories/team/sync").status_code == 403


def test_remotes_are_shown_without_credentials_and_link_commits_only_over_https():
    assert display_remote("https://user:secret@git.example.com/x.git") == "https://git.example.com/x.git"
    assert (
        commit_url("https://user:secret@git.example.com/x.git", "abc")
        == "https://git.example.com/x/commit/abc"
    )
    assert commit_url("https://bitbucket.org/team/x.git", "abc") == "https://bitbucket.org/team/x/commits/abc"
    assert display_remote("ssh://git@git.example.com/x.git") == "ssh://git@git.example.com/x.git"
    assert commit_url("ssh://git@git.example.com/x.git", "abc") is None
    assert commit_url("/srv/git/x", "abc") is None


def test_a_refused_form_never_sends_back_a_password_or_a_secret(runtime, admin):
    form = {
        "name": "x",
        "remote_url": "https://me:hunter2@git.example.com/x.git",
        "webhook_secret": "s3cr3t-value",
    }
    response = post(admin, "/repositories/add", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Do not put credentials in the URL" in page
    assert "hunter2" not in page and 'value="https://git.example.com/x.git"' in page
    assert "s3cr3t-value" not in page

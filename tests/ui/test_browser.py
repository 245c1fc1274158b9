"""End to end in real headless Chromium (Debian's), against a live server and a real Dramatiq worker.

The server is werkzeug in a thread on a free port; the worker consumes the embedded broker in
this process and runs each job in its own child process, as ``jobsync serve`` does.
"""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

import dramatiq
import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy import select
from werkzeug.serving import make_server

from service.infra.presence import PresencePublisher
from service.jobs import StringVar
from service.models import JobButton, JobResult
from tests.helpers.factories import make_job
from tests.helpers.git import commit, git
from tests.helpers.servers import free_port
from tests.helpers.ui import PASSWORD, schema
from tests.helpers.wheels import make_wheel

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "examples" / "jobs-repo"
SCREENSHOTS = ROOT / "test-output" / "ui"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Generous: a run spawns a child process, and CI machines are slow and busy.
SLOW = 30_000


@pytest.fixture
def settings(settings, tmp_path):
    """The samples declare jobsync-sample-greeting: offer its wheel locally, as make run does."""
    source = (ROOT / "examples" / "sample-package" / "sample_greeting.py").read_text()
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "jobsync-sample-greeting", "1.0", modules={"sample_greeting.py": source})
    return settings.replace(find_links=(str(wheels),))


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium (scripts/system-deps.sh)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def worker(runtime):
    """A Dramatiq worker on every queue, announcing itself as ``jobsync worker`` does."""
    worker = dramatiq.Worker(runtime.broker, worker_threads=2, worker_timeout=100)
    presence = PresencePublisher(runtime, runtime.settings.all_queues).start()
    worker.start()
    yield worker
    worker.stop()
    presence.stop()


@pytest.fixture
def live_server(app, users):
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="ui-live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def open_page(browser, live_server):
    """Open a page in a fresh browser context (its own cookies) logged in as the named user."""
    contexts = []

    def open_as(username: str) -> Page:
        context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(SLOW)
        page.goto("/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("button:text-is('Log in')")
        expect(page.locator(".username")).to_have_text(username)
        return page

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def sample_repository(tmp_path) -> Path:
    """A real git repository holding examples/jobs-repo, as scripts/sample-repo.sh makes it."""
    work = tmp_path / "sample-jobs-repo"
    shutil.copytree(SAMPLES, work, ignore=shutil.ignore_patterns("__pycache__"))
    git(work, "init", "--quiet", "--initial-branch=main")
    commit(work, "Sample jobs")
    return work


def test_an_admin_syncs_the_samples_enables_a_job_and_watches_it_run(open_page, sample_repository, worker):
    page = open_page("admin")
    page.goto("/repositories/add")
    page.fill("#in-name", "samples")
    page.fill("#in-remote_url", str(sample_repository))
    page.click("button:text-is('Save')")
    expect(page).to_have_url(re.compile(r"/repositories/samples/$"))

    page.click("button:text-is('Sync')")
    expect(page).to_have_url(re.compile(r"/job-results/[0-9a-f-]+/$"))
    expect(page.locator("#status")).to_have_text("SUCCESS")
    expect(page.locator("#log")).to_contain_text("Added samples/jobs.hello/HelloWorld")

    page.goto("/jobs/")
    expect(page.locator("section.group", has_text="Getting started")).to_contain_text("Hello world")
    page.click("a:text-is('Hello world')")
    expect(page.locator(".notice").first).to_contain_text("This job is disabled")
    page.click("a:text-is('Edit settings')")
    page.check("#enabled")
    page.click("button:text-is('Save')")
    expect(page.locator(".flash")).to_contain_text("Saved Hello world.")

    page.fill("#var-who", "x" * 51)
    page.click("button:text-is('Run job')")
    who = page.locator("[data-field=who]")
    expect(who.locator(".error")).to_have_text("Ensure this value has at most 50 characters (it has 51).")
    expect(page.locator("#var-who")).to_have_value("x" * 51)

    worker.pause()  # hold the run until the page is open, so the page must follow it live
    page.fill("#var-who", "you")
    with page.expect_response(re.compile(r"/job-results/[0-9a-f-]+/$")) as landing:
        page.click("button:text-is('Run job')")
    assert 'data-final="false"' in landing.value.text()
    expect(page.locator("#status")).to_have_text("PENDING")
    expect(page.locator(".queue-warning")).to_have_count(0)  # a worker serves the queue, though paused
    page.evaluate("window.stillTheSamePage = true")
    worker.resume()
    expect(page.locator("#log")).to_contain_text("Hello, you!")
    expect(page.locator("#status")).to_have_text("SUCCESS")
    expect(page.locator("#log [data-grouping=greeting]")).to_contain_text("Greeted you")
    expect(page.locator("#result")).to_contain_text('"greeting": "Hello, you!"')
    expect(page.locator("#cancel-form")).to_be_hidden()
    assert page.evaluate("window.stillTheSamePage") is True  # updated in place, never reloaded

    page.uncheck("#level-filter input[value=info]")
    expect(page.locator("#log tr.l-info").first).to_be_hidden()
    expect(page.locator("#log tr.l-success").first).to_be_visible()
    page.check("#level-filter input[value=info]")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "job-result.png"), full_page=True)


def make_hello(runtime, **fields):
    """The execution tests' importable Hello job, which logs ``hello <who>``."""
    with runtime.db.session() as session:
        return make_job(
            session, "Hello", name="Hello", variables=schema(who=StringVar(default="world")), **fields
        ).id


def test_a_log_line_carrying_script_is_shown_as_text(runtime, open_page, worker):
    job_id = make_hello(runtime)
    page = open_page("alice")
    page.goto(f"/jobs/{job_id}/")
    payload = "<script>window.injected = 1</script>"
    page.fill("#var-who", payload)
    page.click("button:text-is('Run job')")
    expect(page.locator("#status")).to_have_text("SUCCESS")
    expect(page.locator("#log td.message")).to_have_text(f"hello {payload}")
    page.reload()
    expect(page.locator("#log td.message")).to_have_text(f"hello {payload}")
    assert page.locator("#log script").count() == 0
    assert page.evaluate("window.injected") is None


def test_a_second_user_approves_a_requested_run(runtime, open_page, worker):
    job_id = make_hello(runtime, approval_required=True)
    alice = open_page("alice")
    alice.goto(f"/jobs/{job_id}/")
    alice.click("button:text-is('Run job')")
    expect(alice.locator(".flash")).to_contain_text("waits for another user's approval")
    expect(alice.locator("button:text-is('Approve')")).to_have_count(0)

    bob = open_page("bob")
    bob.goto("/scheduled-jobs/?approval=needs_approval")
    bob.click("table.list a >> nth=0")
    expect(bob.locator(".approval")).to_contain_text("alice asked to run this job")
    bob.click("button:text-is('Approve')")
    expect(bob).to_have_url(re.compile(r"/job-results/[0-9a-f-]+/$"))
    expect(bob.locator("#status")).to_have_text("SUCCESS")
    expect(bob.locator("#log")).to_contain_text("hello world")


def test_a_job_button_asks_for_confirmation_in_a_dialog(runtime, open_page):
    with runtime.db.session() as session:
        job = make_job(session, "Describe", name="Describe object", is_job_button_receiver=True)
        session.add(
            JobButton(
                name="Describe", content_types=["dcim.device"], job=job, text="Describe it", confirmation=True
            )
        )
    page = open_page("alice")
    page.goto("/job-buttons/?object_type=dcim.device&object_id=42")
    page.click("button:text-is('Describe it')")
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Run “Describe it” (Describe object) on dcim.device 42?")
    dialog.locator("button:text-is('Cancel')").click()
    expect(dialog).to_be_hidden()
    with runtime.db.session() as session:
        assert session.scalars(select(JobResult)).all() == []
    page.click("button:text-is('Describe it')")
    dialog.locator("button:text-is('Run')").click()
    expect(page).to_have_url(re.compile(r"/job-results/[0-9a-f-]+/$"))
    with runtime.db.session() as session:
        result = session.scalars(select(JobResult)).one()
        assert (result.object_type, result.object_id) == ("dcim.device", "42")

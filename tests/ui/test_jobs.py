"""The job list, the generated run form, running from it, and the admin's settings form."""

import re

from sqlalchemy import select

from service.models import Job, JobResult, ScheduledJob, Status
from service.ui.runform import build_fields
from tests.helpers.factories import make_job, make_result
from tests.helpers.ui import make_form_job, post


def field_html(page: str, name: str) -> str:
    """The markup of one generated field (its wrapping div)."""
    match = re.search(rf'<div class="field[^"]*" data-field="{name}">(.*?)\n</div>', page, re.S)
    assert match, f"no field {name}"
    return match.group(1)


def test_jobs_are_listed_by_grouping_with_badges_queue_and_last_run(runtime, alice):
    with runtime.db.session() as session:
        hello = make_job(
            session,
            "Hello",
            name="Say hello",
            grouping="Greetings",
            task_queues=["low"],
            description="Greets someone.\nSecond line.",
        )
        make_job(
            session, "Tidy", name="Tidy up", grouping="Maintenance", enabled=False, is_job_hook_receiver=True
        )
        make_result(session, hello, status=Status.SUCCESS)
    page = alice.get("/jobs/").get_data(as_text=True)
    assert page.index("<h2>Greetings</h2>") < page.index("Say hello") < page.index("<h2>Maintenance</h2>")
    assert page.index("<h2>Maintenance</h2>") < page.index("Tidy up")
    assert "Greets someone." in page and "Second line." not in page
    assert ">low</td>" in page and "SUCCESS" in page
    assert "hook receiver" in page and ">disabled<" in page


def test_hidden_jobs_stay_out_of_the_list_unless_asked_for(runtime, alice):
    with runtime.db.session() as session:
        make_job(session, "Shown", name="Shown job")
        make_job(session, "Secret", name="Hidden job", hidden=True)
    assert "Hidden job" not in alice.get("/jobs/").get_data(as_text=True)
    assert "Hidden job" in alice.get("/jobs/?hidden=yes").get_data(as_text=True)
    both = alice.get("/jobs/?hidden=").get_data(as_text=True)
    assert "Hidden job" in both and "Shown job" in both


def test_the_job_list_filters_by_state_receivers_and_search(runtime, alice):
    with runtime.db.session() as session:
        make_job(session, "A", name="Enabled job")
        make_job(session, "B", name="Disabled job", enabled=False)
        make_job(session, "C", name="Gone job", installed=False)
        make_job(session, "D", name="Button job", is_job_button_receiver=True)

    def names(query):
        page = alice.get(f"/jobs/?{query}").get_data(as_text=True)
        return set(re.findall(r'class="job-name">([^<]+)<', page))

    assert names("enabled=no") == {"Disabled job"}
    assert names("installed=no") == {"Gone job"}
    assert names("receivers=button") == {"Button job"}
    assert names("q=gone") == {"Gone job"}


def test_the_run_form_is_generated_from_the_variables(runtime, alice):
    with runtime.db.session() as session:
        job = make_form_job(session, task_queues=["low", "default"], dryrun_default=True)
    page = alice.get(f"/jobs/{job.id}/").get_data(as_text=True)
    order = [page.index(f'data-field="{name}"') for name in ("site", "hostname", "count", "verbose")]
    assert order == sorted(order)  # field_order first, then as declared
    hostname = field_html(page, "hostname")
    assert "Host name" in hostname and 'title="required"' in hostname
    assert "<strong>device</strong>" in hostname and "at most 10 characters" in hostname
    assert 'type="number"' in field_html(page, "count") and 'value="3"' in field_html(page, "count")
    assert 'type="checkbox"' in field_html(page, "verbose") and "checked" in field_html(page, "verbose")
    assert '<option value="nyc" selected>New York</option>' in field_html(page, "site")
    assert "multiple" in field_html(page, "roles")
    assert "<textarea" in field_html(page, "devices") and "one per line" in field_html(page, "devices")
    assert "&#34;a&#34;: 1" in field_html(page, "extra")  # escaped, as all text is
    assert 'type="file"' in field_html(page, "config") and 'enctype="multipart/form-data"' in page
    assert re.search(r'name="_dryrun" value="true" checked', page)
    assert '<option value="low" selected>low</option>' in page and '<option value="high"' not in page
    assert "<strong>every</strong>" in page  # the description, as Markdown


def test_invalid_input_comes_back_with_errors_under_the_fields_and_what_was_typed(runtime, alice):
    with runtime.db.session() as session:
        job = make_form_job(session)
    response = post(
        alice,
        f"/jobs/{job.id}/run",
        {
            "hostname": "far-too-long-a-name",
            "count": "9",
            "site": "nyc",
            "roles": ["core"],
            "devices": "1\n2",
            "extra": "{not json",
            "notes": "keep me",
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "at most 10 characters (it has 19)" in field_html(page, "hostname")
    assert 'value="far-too-long-a-name"' in field_html(page, "hostname")
    assert "less than or equal to 5" in field_html(page, "count") and 'value="9"' in field_html(page, "count")
    assert "Enter valid JSON." in field_html(page, "extra") and "{not json" in field_html(page, "extra")
    assert '<option value="core" selected>' in field_html(page, "roles")
    assert "keep me" in field_html(page, "notes")
    assert "checked" not in field_html(page, "verbose")  # unticked stays unticked
    with runtime.db.session() as session:
        assert session.scalars(select(JobResult)).all() == []


def test_a_valid_form_starts_a_run_and_opens_its_result(runtime, alice):
    with runtime.db.session() as session:
        job = make_form_job(session, task_queues=["low", "default"])
    response = post(
        alice,
        f"/jobs/{job.id}/run",
        {
            "hostname": "edge1",
            "count": "2",
            "site": "ams",
            "roles": ["edge", "core"],
            "devices": "7, 8",
            "extra": '{"b": 2}',
            "_task_queue": "default",
        },
    )
    assert response.status_code == 303
    with runtime.db.session() as session:
        result = session.scalars(select(JobResult)).one()
        assert response.headers["Location"] == f"/job-results/{result.id}/"
        assert result.status == Status.PENDING and result.queue == "default" and not result.dryrun
        assert result.user.username == "alice"
        assert result.input_data == {
            "hostname": "edge1",
            "count": "2",
            "verbose": False,
            "site": "ams",
            "roles": ["edge", "core"],
            "devices": ["7", "8"],
            "extra": '{"b": 2}',
        }


def test_an_uploaded_file_goes_with_the_run(runtime, alice):
    with runtime.db.session() as session:
        job = make_form_job(session)
    from io import BytesIO

    response = post(
        alice,
        f"/jobs/{job.id}/run",
        {"hostname": "edge1", "config": (BytesIO(b"conf"), "a.cfg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    from service.infra.outbox import outbox_of

    with runtime.db.session() as session:
        result = session.scalars(select(JobResult)).one()
        taken = outbox_of(session).transient.take(result.id)
    assert taken["files"]["config"]["name"] == "a.cfg"


def test_a_job_needing_approval_waits_as_a_scheduled_job(runtime, alice):
    with runtime.db.session() as session:
        job = make_job(session, "Gated", approval_required=True)
    response = post(alice, f"/jobs/{job.id}/run", {"_task_queue": "default"})
    assert response.status_code == 303 and response.headers["Location"].startswith("/scheduled-jobs/")
    with runtime.db.session() as session:
        schedule = session.scalars(select(ScheduledJob)).one()
        assert schedule.approval_state == "needs_approval" and session.scalars(select(JobResult)).all() == []
    assert "waits for another user" in alice.get(response.headers["Location"]).get_data(as_text=True)


def test_the_form_can_schedule_a_daily_run_and_reports_schedule_errors(runtime, alice):
    with runtime.db.session() as session:
        job = make_job(session, "Daily")
    bad = post(alice, f"/jobs/{job.id}/run", {"_when": "crontab", "_crontab": "every day"})
    assert bad.status_code == 400 and "Expected a crontab of 5 fields" in bad.get_data(as_text=True)
    response = post(
        alice,
        f"/jobs/{job.id}/run",
        {
            "_when": "daily",
            "_schedule_name": "Morning",
            "_start_time": "2999-01-01T09:00",
            "_time_zone": "UTC",
        },
    )
    assert response.status_code == 303
    with runtime.db.session() as session:
        schedule = session.scalars(select(ScheduledJob)).one()
        assert (schedule.name, schedule.interval_type, schedule.start_time.hour) == ("Morning", "daily", 9)


def test_a_disabled_job_cannot_run_and_says_why(runtime, alice):
    with runtime.db.session() as session:
        job = make_job(session, "Off", enabled=False)
    page = alice.get(f"/jobs/{job.id}/").get_data(as_text=True)
    assert "This job is disabled" in page and re.search(
        r'<button type="submit" class="primary" disabled>', page
    )
    response = post(alice, f"/jobs/{job.id}/run")
    assert response.status_code == 405 and "is not enabled" in response.get_data(as_text=True)


def test_running_needs_the_run_job_permission(runtime, login):
    with runtime.db.session() as session:
        job = make_job(session, "Hello")
    viewer = login("viewer")
    assert "run_job permission" in viewer.get(f"/jobs/{job.id}/").get_data(as_text=True)
    assert post(viewer, f"/jobs/{job.id}/run").status_code == 403


def test_an_admin_enables_a_job_and_overrides_its_name(runtime, admin):
    with runtime.db.session() as session:
        job = make_job(session, "Hello", enabled=False, task_queues=["default"])
    form = admin.get(f"/jobs/{job.id}/edit").get_data(as_text=True)
    assert 'name="name_override"' in form
    response = post(
        admin,
        f"/jobs/{job.id}/edit",
        {
            "enabled": "on",
            "name": "Greeter",
            "name_override": "on",
            "task_queues": "low, high",
            "task_queues_override": "on",
        },
    )
    assert response.status_code == 303
    with runtime.db.session() as session:
        saved = session.get(Job, job.id)
        assert saved.enabled and (saved.name, saved.name_override) == ("Greeter", True)
        assert saved.task_queues == ["low", "high"] and saved.task_queues_override


def test_job_settings_refuse_approval_for_sensitive_jobs_and_keep_the_form(runtime, admin):
    with runtime.db.session() as session:
        job = make_job(session, "Hello", has_sensitive_variables=True)
    response = post(
        admin,
        f"/jobs/{job.id}/edit",
        {
            "approval_required": "on",
            "approval_required_override": "on",
            "soft_time_limit": "abc",
            "soft_time_limit_override": "on",
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Enter a number of seconds." in page
    response = post(
        admin, f"/jobs/{job.id}/edit", {"approval_required": "on", "approval_required_override": "on"}
    )
    assert "cannot also be marked as requiring approval" in response.get_data(as_text=True)
    with runtime.db.session() as session:
        assert not session.get(Job, job.id).approval_required


def test_job_settings_need_the_change_job_permission(runtime, alice):
    with runtime.db.session() as session:
        job = make_job(session, "Hello")
    assert alice.get(f"/jobs/{job.id}/edit").status_code == 403
    assert post(alice, f"/jobs/{job.id}/edit", {"enabled": "on"}).status_code == 403


def test_build_fields_leaves_out_the_dry_run_variable(runtime):
    job = Job(
        variables=[{"name": "dryrun", "type": "DryRunVar"}, {"name": "who", "type": "StringVar"}],
        field_order=[],
    )
    assert [field.name for field in build_fields(job)] == ["who"]


def test_run_again_at_this_commit_goes_from_a_result_to_a_run_pinned_to_its_commit(runtime, alice):
    from service.models import GitRepository

    with runtime.db.session() as session:
        repository = GitRepository(name="Demo", slug="demo", remote_url="/srv/demo.git")
        job = make_job(session, source="git", repository=repository, commit="b" * 40)
        old_run = make_result(session, job, commit="a" * 40, status=Status.SUCCESS)
    result_page = alice.get(f"/job-results/{old_run.id}/").get_data(as_text=True)
    link = re.search(r'id="run-at-commit" href="([^"]+)"', result_page).group(1).replace("&amp;", "&")
    form = alice.get(link).get_data(as_text=True)
    assert 'name="_source_commit" value="' + "a" * 40 in form

    response = post(alice, f"/jobs/{job.id}/run", {"_source_commit": "a" * 40})

    assert response.status_code == 303
    with runtime.db.session() as session:
        newest = session.scalars(select(JobResult).order_by(JobResult.created.desc())).first()
        assert newest.id != old_run.id and newest.commit == "a" * 40

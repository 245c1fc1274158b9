"""Job hooks and job buttons admin, and the page of one object's buttons."""

import re

from sqlalchemy import select

from service.models import JobButton, JobHook, JobResult
from tests.helpers.factories import make_job
from tests.helpers.ui import post


def test_an_admin_adds_edits_and_deletes_a_job_hook(runtime, admin):
    with runtime.db.session() as session:
        receiver = make_job(session, "Hook", name="Log change", is_job_hook_receiver=True)
        make_job(session, "Plain", name="Plain job")
    form = admin.get("/job-hooks/add").get_data(as_text=True)
    assert "Log change" in form and "Plain job" not in form
    bad = post(admin, "/job-hooks/add", {"name": "", "content_types": "Device", "job": ""})
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "Expected app_label.model" in page and "Choose a job." in page
    assert "Choose at least one of create" in page
    good = post(
        admin,
        "/job-hooks/add",
        {
            "name": "Devices",
            "content_types": "dcim.device\ndcim.site",
            "job": str(receiver.id),
            "type_update": "on",
            "enabled": "on",
        },
    )
    assert good.status_code == 303
    with runtime.db.session() as session:
        hook = session.scalars(select(JobHook)).one()
        assert (
            hook.content_types == ["dcim.device", "dcim.site"] and hook.type_update and not hook.type_create
        )
    assert "dcim.device, dcim.site" in admin.get("/job-hooks/").get_data(as_text=True)
    post(
        admin,
        f"/job-hooks/{hook.id}/edit",
        {"name": "Devices", "content_types": "dcim.device", "job": str(receiver.id), "type_delete": "on"},
    )
    with runtime.db.session() as session:
        assert session.get(JobHook, hook.id).type_delete and not session.get(JobHook, hook.id).enabled
    assert post(admin, f"/job-hooks/{hook.id}/delete").status_code == 303
    with runtime.db.session() as session:
        assert session.scalars(select(JobHook)).all() == []


def test_job_hooks_need_the_change_job_permission_to_change(runtime, alice):
    assert alice.get("/job-hooks/").status_code == 200
    assert alice.get("/job-hooks/add").status_code == 403


def make_button(session, **fields):
    job = make_job(session, "Describe", name="Describe object", is_job_button_receiver=True)
    values = dict(
        name="Describe",
        content_types=["dcim.device"],
        job=job,
        text="Describe <it>",
        confirmation=True,
        group_name="Info",
    )
    values.update(fields)
    button = JobButton(**values)
    session.add(button)
    session.flush()
    return button


def test_an_admin_adds_a_job_button_and_a_refused_form_keeps_its_values(runtime, admin):
    with runtime.db.session() as session:
        receiver = make_job(session, "Describe", name="Describe object", is_job_button_receiver=True)
    bad = post(
        admin,
        "/job-buttons/manage/add",
        {"name": "Go", "text": "", "content_types": "dcim.device", "job": str(receiver.id), "weight": "x"},
    )
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "Enter the button&#39;s text" in page and "Enter a whole number" in page
    assert 'value="Go"' in page
    good = post(
        admin,
        "/job-buttons/manage/add",
        {
            "name": "Go",
            "text": "Go!",
            "content_types": "dcim.device",
            "job": str(receiver.id),
            "weight": "5",
            "button_class": "danger",
        },
    )
    assert good.status_code == 303
    with runtime.db.session() as session:
        button = session.scalars(select(JobButton)).one()
        assert (button.text, button.weight, button.button_class, button.confirmation) == (
            "Go!",
            5,
            "danger",
            False,
        )


def test_the_object_page_lists_its_buttons_with_confirmation(runtime, alice):
    with runtime.db.session() as session:
        make_button(session)
        make_button(
            session,
            name="Other",
            content_types=["dcim.site"],
            text="Site only",
            job=make_job(session, "X", is_job_button_receiver=True),
        )
    page = alice.get("/job-buttons/?object_type=dcim.device&object_id=42").get_data(as_text=True)
    assert "Describe &lt;it&gt;" in page and "Site only" not in page and "<h2>Info</h2>" in page
    assert re.search(
        r'data-confirm-dialog="Run “Describe &lt;it&gt;” \(Describe object\) on dcim.device 42\?"', page
    )
    assert '<dialog id="confirm-dialog">' in page


def test_a_button_needing_confirmation_asks_first_then_runs_on_the_object(runtime, alice):
    with runtime.db.session() as session:
        button = make_button(session)
    ask = post(alice, f"/job-buttons/{button.id}/press", {"object_type": "dcim.device", "object_id": "42"})
    assert ask.status_code == 200 and 'name="confirmed" value="yes"' in ask.get_data(as_text=True)
    with runtime.db.session() as session:
        assert session.scalars(select(JobResult)).all() == []
    run = post(
        alice,
        f"/job-buttons/{button.id}/press",
        {"object_type": "dcim.device", "object_id": "42", "confirmed": "yes"},
    )
    assert run.status_code == 303
    with runtime.db.session() as session:
        result = session.scalars(select(JobResult)).one()
        assert (result.object_type, result.object_id) == ("dcim.device", "42")
        assert run.headers["Location"] == f"/job-results/{result.id}/"


def test_a_button_that_does_not_apply_says_why(runtime, alice):
    with runtime.db.session() as session:
        button = make_button(session, confirmation=False)
    response = post(
        alice,
        f"/job-buttons/{button.id}/press",
        {"object_type": "dcim.site", "object_id": "1"},
        follow_redirects=True,
    )
    assert "does not apply to dcim.site" in response.get_data(as_text=True)

"""A run's page, its live feed, cancelling, the results list and output files."""

import re

from service.models import (
    GitRepository,
    JobEnvironment,
    JobLogEntry,
    JobOutputFile,
    JobResult,
    Status,
    utcnow,
)
from tests.helpers.factories import make_job, make_result
from tests.helpers.ui import add_log, post

SHA = "0123456789abcdef0123456789abcdef01234567"


def make_repository(session, remote="https://git.example.com/team/jobs.git"):
    repository = GitRepository(name="Team jobs", slug="team", remote_url=remote, branch="main")
    session.add(repository)
    session.flush()
    return repository


def test_a_result_page_shows_the_run_its_output_and_its_log(runtime, alice, users):
    with runtime.db.session() as session:
        job = make_job(session, "Hello", name="Say hello", repository=make_repository(session), commit=SHA)
        result = make_result(
            session,
            job,
            status=Status.SUCCESS,
            user_id=users["alice"],
            queue="low",
            input_data={"who": "world"},
            result={"greeting": "Hello, world!"},
            started=utcnow(),
            completed=utcnow(),
        )
        add_log(
            session,
            result,
            ("info", "run", "Starting"),
            ("warning", "post_run", "Careful"),
            ("success", "run", "Greeted **world**"),
        )
        session.add(JobOutputFile(job_result_id=result.id, name="report.csv", content=b"a,b\n", size=4))
    page = alice.get(f"/job-results/{result.id}/").get_data(as_text=True)
    assert 'id="status">SUCCESS<' in page and ">alice<" in page and "<dd>low</dd>" in page
    assert f'<a class="mono" href="https://git.example.com/team/jobs/commit/{SHA}"' in page
    assert ">0123456789<" in page
    assert "&#34;who&#34;: &#34;world&#34;" in page and "Hello, world!" in page
    assert "report.csv" in page and "4 bytes" in page
    run_group, post_run_group = page.index('data-grouping="run"'), page.index('data-grouping="post_run"')
    assert run_group < page.index("Starting") < page.index("Greeted") < post_run_group < page.index("Careful")
    assert '<tr class="l-warning">' in page and '<span class="level level-warning">warning</span>' in page
    assert "Greeted <strong>world</strong>" in page
    assert 'data-final="true"' in page and "cancel-form" not in page


def test_a_log_line_carrying_script_is_shown_as_text(runtime, alice):
    with runtime.db.session() as session:
        result = make_result(session, make_job(session, "Hello"), status=Status.SUCCESS)
        add_log(session, result, ("info", "run", "<script>alert('x')</script> [x](javascript:alert(1))"))
        session.execute(
            JobResult.__table__.update()
            .where(JobResult.id == result.id)
            .values(result={"html": "<img src=x onerror=alert(1)>"})
        )
    page = alice.get(f"/job-results/{result.id}/").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert 'href="javascript' not in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_a_log_line_names_its_object(runtime, alice):
    with runtime.db.session() as session:
        result = make_result(session, make_job(session, "Hello"))
        session.add(
            JobLogEntry(
                job_result_id=result.id,
                message="Touched",
                object={"type": "dcim.device", "id": "7", "repr": "edge-1"},
            )
        )
    page = alice.get(f"/job-results/{result.id}/").get_data(as_text=True)
    assert '<span title="dcim.device 7">edge-1</span>' in page


def test_the_level_filter_hides_unticked_levels(runtime, alice):
    with runtime.db.session() as session:
        result = make_result(session, make_job(session, "Hello"))
        add_log(session, result, ("debug", "run", "noise"), ("error", "run", "broken"))
    page = alice.get(f"/job-results/{result.id}/?level=error&level=warning").get_data(as_text=True)
    log_classes = re.search(r'<div id="log" class="([^"]+)"', page).group(1).split()
    assert {"hide-debug", "hide-info", "hide-success", "hide-failure"} <= set(log_classes)
    assert "hide-error" not in log_classes and "hide-warning" not in log_classes
    assert re.search(r'name="level" value="debug">', page) and 'value="error" checked' in page


def test_sensitive_input_is_never_shown(runtime, alice, users):
    with runtime.db.session() as session:
        job = make_job(session, "Secret", has_sensitive_variables=True)
        result = make_result(session, job, input_data=None, user_id=users["alice"])
    assert "Sensitive input is never stored." in alice.get(f"/job-results/{result.id}/").get_data(
        as_text=True
    )


def test_the_live_feed_sends_the_status_and_only_new_lines(runtime, alice):
    with runtime.db.session() as session:
        result = make_result(session, make_job(session, "Hello"), status=Status.STARTED, started=utcnow())
        add_log(session, result, ("info", "run", "one"), ("info", "run", "**two**"))
    first = alice.get(f"/job-results/{result.id}/live?after=0").get_json()
    assert first["status"] == "STARTED" and first["is_final"] is False and first["next"] == 2
    assert [line["message_html"] for line in first["lines"]] == ["one", "<strong>two</strong>"]
    with runtime.db.session() as session:
        add_log(session, session.get(JobResult, result.id), ("success", "run", "<b>three</b>"))
        row = session.get(JobResult, result.id)
        row.status, row.completed, row.result = Status.SUCCESS, utcnow(), {"ok": True}
    second = alice.get(f"/job-results/{result.id}/live?after=2").get_json()
    assert [line["message_html"] for line in second["lines"]] == ["&lt;b&gt;three&lt;/b&gt;"]
    assert second["is_final"] is True and second["next"] == 3 and '"ok": true' in second["result"]


def test_the_page_of_a_running_job_polls_and_offers_cancel(runtime, alice):
    with runtime.db.session() as session:
        result = make_result(session, make_job(session, "Hello"), status=Status.PENDING)
    page = alice.get(f"/job-results/{result.id}/").get_data(as_text=True)
    assert 'data-final="false"' in page and f'data-live-url="/job-results/{result.id}/live"' in page
    assert 'id="cancel-form"' in page


def test_cancelling_a_waiting_run_revokes_it(runtime, alice, users):
    with runtime.db.session() as session:
        result = make_result(session, make_job(session, "Hello"), status=Status.PENDING,
                             user_id=users["alice"])
    response = post(alice, f"/job-results/{result.id}/cancel")
    assert response.status_code == 303
    with runtime.db.session() as session:
        assert session.get(JobResult, result.id).status == Status.REVOKED
    again = post(alice, f"/job-results/{result.id}/cancel", follow_redirects=True)
    assert "already finished" in again.get_data(as_text=True)


def test_the_results_list_filters_by_status_job_and_user_and_pages(runtime, alice, users):
    with runtime.db.session() as session:
        hello, other = make_job(session, "Hello", name="Hello"), make_job(session, "Other", name="Other")
        for _ in range(3):
            make_result(session, hello, status=Status.SUCCESS, user_id=users["alice"])
        make_result(session, other, status=Status.FAILURE, user_id=users["bob"])

    def rows(query):
        page = alice.get(f"/job-results/?{query}").get_data(as_text=True)
        return re.findall(r'<a href="/job-results/[^"]+/">([^<]+)</a>', page), page

    assert rows("status=FAILURE")[0] == ["Other"]
    assert rows(f"job={hello.id}")[0] == ["Hello"] * 3
    assert rows("user=bob")[0] == ["Other"]
    names, page = rows("per_page=2&page=2")
    assert len(names) == 2 and "3–4 of 4" in page and "page 2 of 2" in page and "per_page=2" in page


def test_output_files_download_as_attachments(runtime, alice):
    with runtime.db.session() as session:
        result = make_result(session, make_job(session, "Hello"), status=Status.SUCCESS)
        output = JobOutputFile(
            job_result_id=result.id, name="<evil>.html", content=b"<script>x</script>", size=18
        )
        session.add(output)
    response = alice.get(f"/job-results/{result.id}/files/{output.id}")
    assert response.data == b"<script>x</script>" and response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"] == 'attachment; filename="_evil_.html"'


def test_the_live_feed_sends_a_long_log_in_batches(runtime, alice, monkeypatch):
    from service.ui.views import results

    monkeypatch.setattr(results, "LIVE_BATCH", 2)
    with runtime.db.session() as session:
        result = make_result(session, make_job(session, "Hello"), status=Status.SUCCESS)
        add_log(session, result, ("info", "run", "one"), ("info", "run", "two"), ("info", "run", "three"))
    first = alice.get(f"/job-results/{result.id}/live?after=0").get_json()
    assert [line["message_html"] for line in first["lines"]] == ["one", "two"] and first["more"] is True
    second = alice.get(f"/job-results/{result.id}/live?after={first['next']}").get_json()
    assert [line["message_html"] for line in second["lines"]] == ["three"] and second["more"] is False


def add_numbered_lines(runtime, count: int, level_of=lambda number: "info"):
    from datetime import timedelta

    start = utcnow()
    with runtime.db.session() as session:
        result = make_result(session, make_job(session, "Hello"), status=Status.STARTED)
        session.add_all([JobLogEntry(job_result_id=result.id, level=level_of(number),
                                     message=f"line {number}", created=start + timedelta(milliseconds=number))
                         for number in range(count)])
    return result


def shown_lines(page) -> list[str]:
    return re.findall(r"line \d+", page.get_data(as_text=True))


def test_a_long_log_shows_its_last_page_with_links_to_earlier_ones(runtime, alice, monkeypatch):
    from service.ui.views import results

    monkeypatch.setattr(results, "LOG_PAGE_LINES", 4)
    result = add_numbered_lines(runtime, 10)
    last = alice.get(f"/job-results/{result.id}/")
    assert shown_lines(last) == ["line 8", "line 9"] and "page 3 of 3" in last.get_data(as_text=True)
    assert 'data-next="10"' in last.get_data(as_text=True)  # the live tail goes on after the last line
    middle = alice.get(f"/job-results/{result.id}/?log_page=2")
    assert shown_lines(middle) == [f"line {n}" for n in range(4, 8)]
    assert 'data-final="true"' in middle.get_data(as_text=True)  # an earlier page is not tailed
    assert shown_lines(alice.get(f"/job-results/{result.id}/?log_page=x")) == ["line 8", "line 9"]


def test_a_level_filter_reads_only_the_lines_of_those_levels(runtime, alice, monkeypatch):
    from service.ui.views import results

    monkeypatch.setattr(results, "LOG_PAGE_LINES", 2)
    result = add_numbered_lines(runtime, 12, level_of=lambda number: "warning" if number % 4 == 0 else "info")
    page = alice.get(f"/job-results/{result.id}/?level=warning&log_page=1")
    assert shown_lines(page) == ["line 0", "line 4"] and "Lines 1–2 of 3" in page.get_data(as_text=True)


def test_the_live_tail_of_a_long_log_reads_from_the_end(runtime, alice):
    result = add_numbered_lines(runtime, 50)
    tail = alice.get(f"/job-results/{result.id}/live?after=47").get_json()
    assert [line["message_html"] for line in tail["lines"]] == ["line 47", "line 48", "line 49"]
    assert tail["next"] == 50 and tail["more"] is False
    assert alice.get(f"/job-results/{result.id}/live?after=50").get_json()["lines"] == []


def test_the_live_tail_goes_on_after_the_pages_last_line_without_counting(runtime, alice, monkeypatch):
    """The page names its last line (``data-cursor``); a poll with it seeks past that line, so lines
    logged in the same millisecond are neither lost nor repeated, and the log is never counted."""
    from service.ui import queries
    from service.ui.views import results

    result = add_numbered_lines(runtime, 5)
    page = alice.get(f"/job-results/{result.id}/").get_data(as_text=True)
    cursor = re.search(r'data-cursor="([^"]+)"', page).group(1)
    same_moment = utcnow()
    with runtime.db.session() as session:
        session.add_all([JobLogEntry(job_result_id=result.id, message=f"line {number}", created=same_moment)
                         for number in range(5, 9)])

    def no_count(*args, **kwargs):
        raise AssertionError("the live tail counted the log")

    monkeypatch.setattr(results, "log_line_count", no_count)
    monkeypatch.setattr(results, "LIVE_BATCH", 3)
    seen, after = [], 5
    while True:
        tail = alice.get(f"/job-results/{result.id}/live",
                         query_string={"after": after, "cursor": cursor}).get_json()
        seen += [line["message_html"] for line in tail["lines"]]
        after, cursor = tail["next"], tail["cursor"]
        if not tail["more"]:
            break
    assert sorted(seen) == [f"line {number}" for number in range(5, 9)] and after == 9
    assert alice.get(f"/job-results/{result.id}/live",
                     query_string={"after": 9, "cursor": cursor}).get_json()["lines"] == []
    assert queries.parse_log_cursor("nonsense") is None and queries.parse_log_cursor(None) is None


def test_a_run_waiting_for_its_concurrency_key_says_so_on_its_page_its_feed_and_the_list(runtime, alice):
    import uuid

    holder = uuid.uuid4()
    with runtime.db.session() as session:
        job = make_job(session, "Hello")
        result = make_result(session, job, concurrency_key="device:r1", blocked_by=holder)
    page = alice.get(f"/job-results/{result.id}/").get_data(as_text=True)
    assert f'id="waiting-for">waiting for device:r1 held by {holder}<' in page
    assert alice.get(f"/job-results/{result.id}/live?after=0").get_json()["waiting_for"] == (
        f"device:r1 held by {holder}")
    assert "waiting for device:r1" in alice.get("/job-results/").get_data(as_text=True)


def test_a_result_page_and_its_job_page_show_the_installed_dependency_versions(runtime, alice):
    key = "cd" * 16
    with runtime.db.session() as session:
        session.add(JobEnvironment(key=key, requirements="greeting==2.0\nnetbits==0.3\n",
                                   packages={"greeting": "2.0", "netbits": "0.3"}, platform="cpython-3.11"))
        job = make_job(session, "Hello", environment_key=key)
        result = make_result(session, job, status=Status.SUCCESS, environment_key=key)
    page = alice.get(f"/job-results/{result.id}/").get_data(as_text=True)
    assert f">{key[:12]}<" in page and "greeting 2.0" in page and "netbits 0.3" in page
    assert "greeting 2.0" in alice.get(f"/jobs/{job.id}/").get_data(as_text=True)


def test_each_attempt_of_a_retried_run_shows_the_chain_linking_the_others(runtime, alice):
    with runtime.db.session() as session:
        job = make_job(session, "Flaky")
        first = make_result(session, job, status=Status.FAILURE)
        second = make_result(session, job, status=Status.FAILURE, retry_of=first.id, attempt=2)
        third = make_result(session, job, status=Status.PENDING, retry_of=first.id, attempt=3)
        plain = make_result(session, job, status=Status.FAILURE)
    page = alice.get(f"/job-results/{second.id}/").get_data(as_text=True)
    chain = re.search(r'id="attempts">(.*?)</dd>', page).group(1)
    assert f"/job-results/{first.id}/" in chain and f"/job-results/{third.id}/" in chain
    assert "<strong>2</strong>" in chain and f"/job-results/{second.id}/" not in chain
    assert 'id="attempts"' not in alice.get(f"/job-results/{plain.id}/").get_data(as_text=True)


def test_another_users_run_is_not_found_without_permission_and_its_input_hidden_with_run_job(
    runtime, alice, login, users
):
    with runtime.db.session() as session:
        result = make_result(session, make_job(session, "Hello"), input_data={"who": "bobs-secret"},
                             user_id=users["bob"], status=Status.PENDING)
    assert login("viewer").get(f"/job-results/{result.id}/").status_code == 404
    page = alice.get(f"/job-results/{result.id}/").get_data(as_text=True)
    assert "bobs-secret" not in page and "Another user's input" in page
    assert post(alice, f"/job-results/{result.id}/cancel").status_code == 403
    assert "bobs-secret" in login("admin").get(f"/job-results/{result.id}/").get_data(as_text=True)


def test_a_chained_run_links_the_run_that_started_it_and_that_run_lists_it(runtime, alice):
    with runtime.db.session() as session:
        head = make_result(session, make_job(session, "ChainHead"), status=Status.SUCCESS)
        following = make_result(session, make_job(session, "Downstream"), triggered_by=head.id)
    page = alice.get(f"/job-results/{following.id}/").get_data(as_text=True)
    assert re.search(rf'id="triggered-by"><a href="/job-results/{head.id}/"', page)
    assert f'/job-results/{following.id}/">Downstream</a>' in alice.get(f"/job-results/{head.id}/").get_data(
        as_text=True)

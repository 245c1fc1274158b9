"""Rendering a run's log: values as either database driver hands them back, always escaped."""

from datetime import datetime, timedelta, timezone

from service.ui.logview import line_object, line_time, render_log


def test_a_line_time_reads_sqlite_text_and_aware_datetimes_as_utc():
    assert line_time("2026-01-02 03:04:05.678901") == "03:04:05.678"
    two_hours_east = timezone(timedelta(hours=2))
    assert line_time(datetime(2026, 1, 2, 5, 4, 5, 678901, tzinfo=two_hours_east)) == "03:04:05.678"
    assert line_time(None) == ""


def test_a_line_object_reads_json_text_or_parsed_json():
    assert line_object("null") is None and line_object(None) is None
    assert line_object('{"id": "7"}') == {"id": "7"} and line_object({"id": "7"}) == {"id": "7"}


def test_the_log_escapes_groupings_objects_and_unknown_levels():
    lines = [("<b>", "<i>grouping</i>", "hi", '{"repr": "<x>", "type": "t", "id": "1"}', None)]
    html = render_log(lines)
    assert "<i>grouping" not in html and "&lt;i&gt;grouping&lt;/i&gt;" in html
    assert "&lt;x&gt;" in html and 'class="l-info"' in html and "<b>" not in html

import logging
from datetime import UTC, datetime

import pytest

from service.jobs import FAILURE, SUCCESS, Job, JobLogger, ObjectData, run_job_for_testing


def run_logging(body, **options):
    """Run a job whose run() calls ``body(self)`` and return the TestRun."""

    class Logs(Job):
        def run(self):
            body(self)

    return run_job_for_testing(Logs, **options)


def only(run):
    assert len(run.logs) == 1, run.logs
    return run.logs[0]


def test_custom_levels_are_registered_with_logging():
    assert (SUCCESS, FAILURE) == (25, 35)  # Nautobot's: failure sits between WARNING and ERROR
    assert logging.getLevelName(SUCCESS) == "SUCCESS"
    assert logging.getLevelName(FAILURE) == "FAILURE"


def test_job_logger_is_a_standard_logger_with_success_and_failure():
    seen = []

    def body(job):
        seen.append(job.logger)
        job.logger.success("ok")

    run_logging(body)
    assert isinstance(seen[0], logging.Logger) and isinstance(seen[0], JobLogger)


def test_every_level_becomes_its_log_entry_level():
    def body(job):
        job.logger.debug("d")
        job.logger.info("i")
        job.logger.success("s")
        job.logger.warning("w")
        job.logger.failure("f")
        job.logger.error("e")
        job.logger.critical("c")

    run = run_logging(body)
    assert [(entry.level, entry.message) for entry in run.logs] == [
        ("debug", "d"),
        ("info", "i"),
        ("success", "s"),
        ("warning", "w"),
        ("failure", "f"),
        ("error", "e"),
        ("critical", "c"),
    ]
    assert run.log_counts == {
        "debug": 1, "info": 1, "success": 1, "warning": 1, "failure": 1, "error": 1, "critical": 1
    }
    assert run.status == "SUCCESS"  # failure, error and critical logs alone do not fail a run (Nautobot 2)


def test_logger_failure_logs_a_failure_but_the_run_succeeds_as_in_nautobot_2():
    def body(job):
        job.logger.failure("interface %s is down", "eth0")
        job.logger.info("still running")

    run = run_logging(body)
    assert run.status == "SUCCESS" and run.error is None
    assert run.messages() == ["interface eth0 is down", "still running"]
    assert run.logs[0].level == "failure"


def test_fail_logs_a_failure_and_fails_the_run_without_stopping_it():
    def body(job):
        job.fail("interface %s is down", "eth0")
        job.logger.info("still running")

    run = run_logging(body)
    assert run.status == "FAILURE"
    assert run.messages() == ["interface eth0 is down", "still running"]
    assert run.logs[0].level == "failure"
    assert run.error == "interface eth0 is down"


def test_legacy_log_failure_keeps_its_1x_meaning_and_fails_the_run():
    def body(job):
        job.log_failure(None, "interface eth0 is down")

    run = run_logging(body)
    assert (run.status, run.error) == ("FAILURE", "interface eth0 is down")


def test_entries_are_grouped_by_the_lifecycle_method_that_logged():
    class Grouped(Job):
        def before_start(self, task_id, args, kwargs):
            self.logger.info("before")

        def run(self):
            self.helper()

        def helper(self):
            self.logger.info("from a helper called by run")

        def on_success(self, retval, task_id, args, kwargs):
            self.logger.info("success")

        def after_return(self, status, retval, task_id, args, kwargs, einfo):
            self.logger.info("after")

    run = run_job_for_testing(Grouped)
    assert [entry.grouping for entry in run.logs] == ["before_start", "run", "on_success", "after_return"]


def test_entries_from_on_failure_are_grouped_under_it():
    class Failing(Job):
        def run(self):
            raise RuntimeError("x")

        def on_failure(self, exc, task_id, args, kwargs, einfo):
            self.logger.warning("rolling back")

    run = run_job_for_testing(Failing)
    assert [(entry.grouping, entry.level) for entry in run.logs] == [
        ("run", "error"),
        ("on_failure", "warning"),
    ]


def test_extra_grouping_overrides_the_method_name():
    run = run_logging(lambda job: job.logger.info("checked", extra={"grouping": "inventory-check"}))
    assert only(run).grouping == "inventory-check"


def test_extra_object_dict_becomes_a_reference():
    device = {"object_type": "dcim.device", "id": "7f1c", "display": "router1", "name": "r1"}
    run = run_logging(lambda job: job.logger.info("seen", extra={"object": device}))
    assert only(run).object == {"type": "dcim.device", "id": "7f1c", "repr": "router1"}


def test_extra_object_instance_becomes_a_reference_from_its_attributes():
    class Meta:
        label_lower = "dcim.site"

    class Site:
        _meta = Meta
        pk = 12

        def __str__(self):
            return "Amsterdam"

    run = run_logging(lambda job: job.logger.info("seen", extra={"object": Site()}))
    assert only(run).object == {"type": "dcim.site", "id": 12, "repr": "Amsterdam"}


def test_object_data_reference_uses_its_type_id_and_display():
    obj = ObjectData("dcim.device", 5, {"name": "r5"})
    run = run_logging(lambda job: job.log_warning("check it", obj))
    assert only(run).object == {"type": "dcim.device", "id": 5, "repr": "r5"}


def test_entries_without_an_object_have_none():
    assert only(run_logging(lambda job: job.logger.info("plain"))).object is None


def test_log_methods_accept_message_then_object():
    run = run_logging(lambda job: job.log_info("hello", {"object_type": "dcim.device", "id": 1}))
    entry = only(run)
    assert (entry.level, entry.message, entry.object["id"]) == ("info", "hello", 1)


def test_log_methods_accept_nautobot_1_object_then_message():
    run = run_logging(lambda job: job.log_success({"object_type": "dcim.device", "id": 2}, "configured"))
    entry = only(run)
    assert (entry.level, entry.message, entry.object["id"]) == ("success", "configured", 2)


def test_log_methods_accept_keywords_and_an_object_alone():
    def body(job):
        job.log_debug(message="by keyword", obj="thing")
        job.log_info({"object_type": "dcim.device", "id": 3})
        job.log_warning({"object_type": "dcim.device", "id": 4}, message="kw message")

    run = run_logging(body)
    assert [(e.level, e.message) for e in run.logs] == [
        ("debug", "by keyword"),
        ("info", ""),
        ("warning", "kw message"),
    ]
    assert run.logs[0].object == {"type": None, "id": None, "repr": "thing"}
    assert [e.object["id"] for e in run.logs[1:]] == [3, 4]


def test_log_methods_refuse_unknown_keywords():
    run = run_logging(lambda job: job.log_info("x", colour="red"))
    assert run.status == "FAILURE"
    assert "unexpected keyword argument(s): colour" in run.error


def test_log_failure_marks_the_run_failed_and_it_continues():
    def body(job):
        job.log_failure({"object_type": "dcim.device", "id": 9}, "no loopback")
        job.log_info("next device")

    run = run_logging(body)
    assert run.status == "FAILURE"
    assert [e.level for e in run.logs] == ["failure", "info"]


def test_log_messages_keep_percent_signs_verbatim():
    assert only(run_logging(lambda job: job.log_info("100% done %s"))).message == "100% done %s"


def test_logged_exceptions_append_their_traceback():
    def body(job):
        try:
            raise ValueError("bad value")
        except ValueError:
            job.logger.exception("parsing failed")

    entry = only(run_logging(body))
    assert entry.level == "error"
    assert entry.message.startswith("parsing failed\nTraceback")
    assert "ValueError: bad value" in entry.message


def test_skip_db_logging_keeps_a_record_out_of_the_sink():
    def body(job):
        job.logger.info("console only", extra={"skip_db_logging": True})
        job.logger.info("stored")

    assert run_logging(body).messages() == ["stored"]


def test_entries_are_stamped_in_utc():
    before = datetime.now(UTC)
    entry = only(run_logging(lambda job: job.logger.info("now")))
    assert entry.created.tzinfo is UTC
    assert before <= entry.created <= datetime.now(UTC)


@pytest.mark.parametrize(
    "emit",
    [
        lambda job: job.logger.info("cloning https://bot:hunter2@git.example.com/r.git"),
        lambda job: job.log_info("password=hunter2"),
        lambda job: job.logger.warning("using %s", "token: hunter2"),
        lambda job: job.logger.info("obj", extra={"object": {"id": 1, "display": "secret=hunter2"}}),
    ],
)
def test_messages_and_object_reprs_are_sanitised(emit):
    entry = only(run_logging(emit))
    assert "hunter2" not in entry.message
    assert "hunter2" not in str(entry.object)
    assert "********" in entry.message + str(entry.object)


def test_a_custom_sanitiser_is_used_for_every_message():
    run = run_logging(lambda job: job.logger.info("router1"), sanitiser=lambda text: text.upper())
    assert only(run).message == "ROUTER1"


def test_module_task_loggers_reach_the_running_jobs_log_and_only_while_it_runs():
    from service.jobs import get_task_logger

    module_logger = get_task_logger("some.job.module")
    assert get_task_logger("some.job.module") is module_logger

    def body(job):
        module_logger.info("from the module")
        module_logger.success("module success")
        module_logger.failure("module failure")

    run = run_logging(body)
    assert [(entry.level, entry.message) for entry in run.logs] == [
        ("info", "from the module"), ("success", "module success"), ("failure", "module failure")
    ]
    assert run.status == "SUCCESS"
    module_logger.info("after the run")  # goes to ordinary logging, not to the finished run
    assert len(run.logs) == 3

import pytest

from service.jobs import (
    BooleanVar,
    DryRunVar,
    FileTooLarge,
    IntegerVar,
    Job,
    JobFailed,
    MemorySink,
    SoftTimeLimitExceeded,
    StringVar,
    execute,
    run_job_for_testing,
)


class Recording(Job):
    """Records every lifecycle call in ``calls`` (a fresh list per subclass)."""

    calls: list

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.calls = []

    def before_start(self, task_id, args, kwargs):
        self.calls.append(("before_start", task_id, args, kwargs))

    def on_success(self, retval, task_id, args, kwargs):
        self.calls.append(("on_success", retval))

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        self.calls.append(("on_failure", exc, einfo))

    def after_return(self, status, retval, task_id, args, kwargs, einfo):
        self.calls.append(("after_return", status, retval))


def names(calls):
    return [call[0] for call in calls]


# ----- the normal path -------------------------------------------------------------------------------


def test_successful_run_calls_before_start_run_on_success_after_return_in_order():
    class Ok(Recording):
        count = IntegerVar()

        def run(self, count):
            self.calls.append(("run", count))
            return {"doubled": count * 2}

    run = run_job_for_testing(Ok, {"count": "21"})
    assert names(Ok.calls) == ["before_start", "run", "on_success", "after_return"]
    assert Ok.calls[1] == ("run", 21)
    assert Ok.calls[2] == ("on_success", {"doubled": 42})
    assert Ok.calls[3] == ("after_return", "SUCCESS", {"doubled": 42})
    assert (run.status, run.result, run.error, run.traceback) == ("SUCCESS", {"doubled": 42}, None, None)


def test_before_start_receives_the_task_id_no_args_and_the_cleaned_data():
    class Ok(Recording):
        name = StringVar()

        def run(self, name):
            return None

    execute(Ok, {"name": " r1 "}, sink=MemorySink(), task_id="task-1")
    assert Ok.calls[0] == ("before_start", "task-1", (), {"name": "r1"})


def test_run_sees_user_job_result_and_dryrun():
    seen = {}

    class Looks(Job):
        def run(self):
            seen.update(user=self.user, job_result=self.job_result, dryrun=self.dryrun)

    execute(Looks, {}, sink=MemorySink(), user="alice", job_result="result-1", dryrun=True)
    assert seen == {"user": "alice", "job_result": "result-1", "dryrun": True}


# ----- failure paths -----------------------------------------------------------------------------------


def test_exception_in_run_ends_failure_with_error_traceback_and_an_error_log():
    class Boom(Recording):
        def run(self):
            self.calls.append(("run",))
            raise RuntimeError("boom")

    run = run_job_for_testing(Boom)
    assert names(Boom.calls) == ["before_start", "run", "on_failure", "after_return"]
    _, exc, einfo = Boom.calls[2]
    assert isinstance(exc, RuntimeError) and einfo.exception is exc and einfo.type is RuntimeError
    assert Boom.calls[3] == ("after_return", "FAILURE", exc)  # Nautobot 2 hands it the exception
    assert run.status == "FAILURE"
    assert run.error == "RuntimeError: boom"
    assert "in run" in run.traceback and "RuntimeError: boom" in run.traceback
    errors = [entry for entry in run.logs if entry.level == "error"]
    assert len(errors) == 1 and errors[0].grouping == "run" and "RuntimeError: boom" in errors[0].message


def test_before_start_raising_skips_run_but_not_on_failure_and_after_return():
    class Early(Recording):
        def before_start(self, task_id, args, kwargs):
            super().before_start(task_id, args, kwargs)
            raise ValueError("no devices")

        def run(self):
            self.calls.append(("run",))

    run = run_job_for_testing(Early)
    assert names(Early.calls) == ["before_start", "on_failure", "after_return"]
    assert run.status == "FAILURE" and run.error == "ValueError: no devices"
    assert [entry.grouping for entry in run.logs] == ["before_start"]


def test_fail_in_before_start_skips_run_and_keeps_before_starts_return_value_as_the_result():
    class Refuses(Recording):
        def before_start(self, task_id, args, kwargs):
            super().before_start(task_id, args, kwargs)
            self.fail("maintenance window closed")
            return {"window": "closed"}

        def run(self):
            self.calls.append(("run",))

    run = run_job_for_testing(Refuses)
    assert names(Refuses.calls) == ["before_start", "on_failure", "after_return"]
    _, exc, einfo = Refuses.calls[1]
    assert exc == {"window": "closed"} and einfo is None  # on_failure gets the return value, as in Nautobot 2
    assert Refuses.calls[2] == ("after_return", "FAILURE", {"window": "closed"})
    assert (run.status, run.error, run.traceback) == ("FAILURE", "maintenance window closed", None)
    assert run.result == {"window": "closed"}


def test_a_clean_failure_hands_runs_return_value_to_on_failure_with_no_einfo():
    class Partial(Recording):
        def run(self):
            self.fail("one device failed")
            return {"done": 3}

    run_job_for_testing(Partial)
    assert Partial.calls[1] == ("on_failure", {"done": 3}, None)


def test_raising_job_failed_or_run_job_task_failed_ends_failure_with_its_message():
    from service.jobs import RunJobTaskFailed

    class GivesUp(Job):
        def run(self):
            raise RunJobTaskFailed("no inventory")

    run = run_job_for_testing(GivesUp)
    assert issubclass(RunJobTaskFailed, JobFailed)
    assert (run.status, run.error) == ("FAILURE", "RunJobTaskFailed: no inventory")


def test_fail_in_run_lets_run_finish_then_ends_failure():
    class Partial(Recording):
        def run(self):
            self.fail("device r1 unreachable")
            self.logger.info("carried on")
            return "partial"

    run = run_job_for_testing(Partial)
    assert names(Partial.calls) == ["before_start", "on_failure", "after_return"]
    assert Partial.calls[-1] == ("after_return", "FAILURE", "partial")
    assert run.status == "FAILURE" and run.result == "partial"
    assert run.messages() == ["device r1 unreachable", "carried on"]


def test_invalid_data_fails_with_one_failure_entry_per_field_and_no_lifecycle_calls():
    class Strict(Recording):
        name = StringVar()
        count = IntegerVar(max_value=3)

        def run(self, name, count):
            self.calls.append(("run",))

    run = run_job_for_testing(Strict, {"count": 5, "colour": "red"})
    assert Strict.calls == []
    assert run.status == "FAILURE"
    assert [(entry.level, entry.grouping, entry.message) for entry in run.logs] == [
        ("failure", "validation", "name: This field is required."),
        ("failure", "validation", "count: Ensure this value is less than or equal to 3."),
        ("failure", "validation", "colour: Unknown field."),
    ]
    assert run.error.startswith("Invalid job data: name: This field is required.")


def test_a_variable_that_crashes_while_cleaning_ends_failure_instead_of_escaping():
    class Broken(IntegerVar):
        def to_python(self, value):
            raise TypeError("bug in a custom variable")

    class UsesBroken(Recording):
        count = Broken()

        def run(self, count):
            self.calls.append(("run",))

    run = run_job_for_testing(UsesBroken, {"count": 1})
    assert UsesBroken.calls == []
    assert run.status == "FAILURE" and run.error == "TypeError: bug in a custom variable"
    assert run.logs[0].grouping == "validation"


def test_exception_in_on_success_turns_the_run_into_a_failure():
    class BadHook(Recording):
        def run(self):
            return 1

        def on_success(self, retval, task_id, args, kwargs):
            raise RuntimeError("hook broke")

    run = run_job_for_testing(BadHook)
    assert run.status == "FAILURE" and run.error == "RuntimeError: hook broke"
    # As Nautobot 2's run_job: the exception goes to on_failure and after_return, with its einfo.
    assert names(BadHook.calls) == ["before_start", "on_failure", "after_return"]
    _, exc, einfo = BadHook.calls[1]
    assert isinstance(exc, RuntimeError) and einfo.exception is exc
    assert BadHook.calls[-1] == ("after_return", "FAILURE", exc)
    assert run.result == 1


def test_exception_in_after_return_turns_the_run_into_a_failure():
    class BadCleanup(Job):
        def run(self):
            return None

        def after_return(self, status, retval, task_id, args, kwargs, einfo):
            raise OSError("cleanup failed")

    run = run_job_for_testing(BadCleanup)
    assert run.status == "FAILURE" and run.error == "OSError: cleanup failed"
    assert [entry.grouping for entry in run.logs] == ["after_return"]


def test_the_first_exception_is_the_runs_error():
    class Twice(Job):
        def run(self):
            raise RuntimeError("first")

        def after_return(self, status, retval, task_id, args, kwargs, einfo):
            raise RuntimeError("second")

    run = run_job_for_testing(Twice)
    assert run.error == "RuntimeError: first"
    assert run.log_counts["error"] == 2


def test_job_whose_constructor_raises_ends_failure():
    class Unbuildable(Job):
        def __init__(self):
            raise RuntimeError("no config")

        def run(self):
            return None

    run = run_job_for_testing(Unbuildable)
    assert run.status == "FAILURE" and run.error == "RuntimeError: no config"
    assert run.logs[0].grouping == "initialization"


def test_soft_time_limit_fails_after_the_jobs_own_cleanup_ran():
    class Slow(Recording):
        def run(self):
            try:
                raise SoftTimeLimitExceeded()
            except SoftTimeLimitExceeded:
                self.calls.append(("except",))
                raise
            finally:
                self.calls.append(("finally",))

    run = run_job_for_testing(Slow)
    assert names(Slow.calls) == ["before_start", "except", "finally", "on_failure", "after_return"]
    assert run.status == "FAILURE" and run.error == "soft time limit exceeded"


@pytest.mark.parametrize("exc", [SystemExit(3), GeneratorExit()])
def test_base_exceptions_from_the_job_end_failure_instead_of_escaping(exc):
    class Exits(Job):
        def run(self):
            raise exc

    run = run_job_for_testing(Exits)
    assert run.status == "FAILURE"
    assert run.error.startswith(type(exc).__name__)


def test_keyboard_interrupt_escapes_the_driver():
    class Interrupted(Job):
        def run(self):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_job_for_testing(Interrupted)


def test_errors_and_tracebacks_are_sanitised():
    class Leaky(Job):
        def run(self):
            raise RuntimeError("cannot clone https://bot:hunter2@git.example.com/r.git")

    run = run_job_for_testing(Leaky)
    assert run.error == "RuntimeError: cannot clone https://bot:********@git.example.com/r.git"
    assert "hunter2" not in run.traceback
    assert all("hunter2" not in entry.message for entry in run.logs)


def test_execute_refuses_a_class_that_is_not_a_job():
    with pytest.raises(TypeError):
        execute(object, {}, sink=MemorySink())


# ----- results -------------------------------------------------------------------------------------------


def test_a_result_json_cannot_store_becomes_none_with_a_warning():
    class Odd(Job):
        def run(self):
            return object()

    run = run_job_for_testing(Odd)
    assert run.status == "SUCCESS" and run.result is None
    warning = run.logs[-1]
    assert (warning.level, warning.grouping) == ("warning", "run")
    assert "object" in warning.message and "JSON" in warning.message


def test_a_result_with_nan_is_not_stored():
    class NotANumber(Job):
        def run(self):
            return float("nan")

    assert run_job_for_testing(NotANumber).result is None


def test_on_success_still_gets_the_raw_return_value():
    marker = object()

    class Raw(Recording):
        def run(self):
            return marker

    run_job_for_testing(Raw)
    assert Raw.calls[1] == ("on_success", marker)


# ----- dry runs --------------------------------------------------------------------------------------------


def test_read_only_jobs_always_run_dry():
    class Reader(Job):
        class Meta:
            read_only = True

        def run(self):
            return self.dryrun

    run = run_job_for_testing(Reader, dryrun=False)
    assert run.result is True and run.dryrun is True


def test_dryrun_none_takes_the_jobs_dryrun_default():
    class Cautious(Job):
        class Meta:
            commit_default = False

        def run(self):
            return self.dryrun

    assert run_job_for_testing(Cautious, dryrun=None).result is True
    assert run_job_for_testing(Cautious, dryrun=False).result is False


def test_dry_run_var_receives_the_effective_dryrun():
    class Nautobot2(Job):
        dryrun = DryRunVar()
        apply = BooleanVar()

        def run(self, dryrun, apply):
            return dryrun

    assert run_job_for_testing(Nautobot2, {}, dryrun=True).result is True
    assert run_job_for_testing(Nautobot2, {}, dryrun=False).result is False
    assert run_job_for_testing(Nautobot2, {"dryrun": True}, dryrun=False).dryrun is True


# ----- Nautobot 1.x jobs -----------------------------------------------------------------------------------


class LegacyJob(Job):
    class Meta:
        commit_default = False

    name = StringVar()
    calls: list = []

    def run(self, data, commit):
        self.calls.append(("run", data, commit))
        self.log_info("run")
        return "output"

    def test_zeta(self):
        self.calls.append(("test_zeta",))
        self.log_success(None, "zeta")

    def test_alpha(self):
        self.calls.append(("test_alpha",))
        self.log_warning("alpha")

    def post_run(self):
        self.calls.append(("post_run",))
        self.log_info("post")


@pytest.fixture
def legacy_calls():
    LegacyJob.calls = []
    return LegacyJob.calls


def test_legacy_job_runs_run_then_test_methods_then_post_run(legacy_calls):
    run = run_job_for_testing(LegacyJob, {"name": "r1"}, dryrun=False)
    assert legacy_calls == [("run", {"name": "r1"}, True), ("test_alpha",), ("test_zeta",), ("post_run",)]
    assert [entry.grouping for entry in run.logs] == ["run", "test_alpha", "test_zeta", "post_run"]
    assert run.status == "SUCCESS" and run.result == "output"


def test_legacy_commit_is_the_inverse_of_dryrun(legacy_calls):
    run_job_for_testing(LegacyJob, {"name": "r1"}, dryrun=True)
    assert legacy_calls[0] == ("run", {"name": "r1"}, False)


def test_legacy_exception_in_a_test_method_skips_later_tests_but_runs_post_run():
    calls = []

    class Breaks(Job):
        def run(self, data, commit):
            calls.append("run")

        def test_a(self):
            calls.append("test_a")
            raise AssertionError("check failed")

        def test_b(self):
            calls.append("test_b")

        def post_run(self):
            calls.append("post_run")

    run = run_job_for_testing(Breaks)
    assert calls == ["run", "test_a", "post_run"]
    assert run.status == "FAILURE" and run.error == "AssertionError: check failed"


def test_legacy_report_without_run_runs_its_test_methods():
    class Report(Job):
        def test_loopbacks(self):
            self.log_failure("r1", "no loopback")

    run = run_job_for_testing(Report)
    assert run.status == "FAILURE"
    assert [(entry.grouping, entry.message) for entry in run.logs] == [("test_loopbacks", "no loopback")]


def test_nautobot_2_jobs_do_not_get_test_methods_called():
    class Modern(Job):
        def run(self):
            return None

        def test_helper(self):
            raise AssertionError("must not be called")

    assert run_job_for_testing(Modern).status == "SUCCESS"


# ----- files ------------------------------------------------------------------------------------------------


def test_create_file_sends_bytes_to_the_sink():
    class Writer(Job):
        def run(self):
            self.create_file("report.csv", "name\nrouter1\n")
            self.create_file("blob.bin", b"\x00\x01")

    run = run_job_for_testing(Writer)
    assert run.files == {"report.csv": b"name\nrouter1\n", "blob.bin": b"\x00\x01"}


def test_create_file_above_the_limit_is_refused_clearly():
    caught = []

    class Big(Job):
        def run(self):
            try:
                self.create_file("big.txt", "x" * 11)
            except FileTooLarge as exc:
                caught.append(str(exc))
            self.create_file("ok.txt", "x" * 10)

    run = run_job_for_testing(Big, max_file_bytes=10)
    assert caught == [
        "File 'big.txt' is 11 bytes (0.0 MiB); jobs may create files of at most 10 bytes (0.0 MiB)."
    ]
    assert run.files == {"ok.txt": b"x" * 10}


def test_create_file_limit_defaults_to_ten_mebibytes():
    class Huge(Job):
        def run(self):
            self.create_file("huge.bin", b"\0" * (10 * 1024 * 1024 + 1))

    run = run_job_for_testing(Huge)
    assert run.status == "FAILURE" and run.error.startswith("FileTooLarge: File 'huge.bin'")
    assert run.files == {}


@pytest.mark.parametrize("name", ["../escape.txt", "dir/file.txt", "", ".."])
def test_create_file_refuses_names_that_are_paths(name):
    class Sneaky(Job):
        def run(self):
            self.create_file(name, "x")

    run = run_job_for_testing(Sneaky)
    assert run.status == "FAILURE" and run.error.startswith("ValidationError: name:")

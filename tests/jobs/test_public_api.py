import importlib
import subprocess
import sys

import service.jobs
from service.jobs import (
    FileVar,
    IntegerVar,
    Job,
    LogEntry,
    MemorySink,
    StringVar,
    TestRun,
    UploadedFile,
    run_job_for_testing,
)


def test_all_is_sorted():
    assert service.jobs.__all__ == sorted(service.jobs.__all__)


def test_every_name_in_all_imports():
    module = importlib.import_module("service.jobs")
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


def test_variables_module_all_is_sorted_and_importable():
    variables = importlib.import_module("service.jobs.variables")
    assert variables.__all__ == sorted(variables.__all__)
    assert all(hasattr(variables, name) for name in variables.__all__)


def test_the_authoring_api_imports_no_service_infrastructure():
    code = (
        "import sys, service.jobs; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "{'flask', 'dramatiq', 'sqlalchemy', 'redis', 'git', 'repos', 'webhooks'} "
        "or (m.startswith('service.') and not m.startswith('service.jobs'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# ----- run_job_for_testing ----------------------------------------------------------------------------


class Greeter(Job):
    who = StringVar()
    times = IntegerVar(default=1)
    upload = FileVar(required=False)

    def run(self, who, times, upload):
        self.logger.info("hello %s", who)
        self.create_file("greeting.txt", f"hello {who}\n" * times)
        return {"who": who, "user": self.user, "dry": self.dryrun, "upload": upload.name if upload else None}


def test_run_job_for_testing_returns_everything_the_run_produced():
    run = run_job_for_testing(Greeter, {"who": "world", "times": 2}, dryrun=True, user="alice")
    assert isinstance(run, TestRun)
    assert run.status == "SUCCESS"
    assert run.result == {"who": "world", "user": "alice", "dry": True, "upload": None}
    assert (run.error, run.traceback) == (None, None)
    assert run.files == {"greeting.txt": b"hello world\nhello world\n"}
    assert [type(entry) for entry in run.logs] == [LogEntry]
    assert run.messages("info") == ["hello world"] and run.messages("error") == []
    assert run.log_counts["info"] == 1
    assert run.dryrun is True


def test_run_job_for_testing_passes_files_through():
    run = run_job_for_testing(Greeter, {"who": "x"}, files={"upload": UploadedFile("in.csv", b"a")})
    assert run.result["upload"] == "in.csv"


def test_run_job_for_testing_reports_a_failure():
    run = run_job_for_testing(Greeter, {})
    assert run.status == "FAILURE"
    assert run.messages("failure") == ["who: This field is required."]


def test_memory_sink_keeps_entries_and_files_in_order():
    sink = MemorySink()
    entry = LogEntry(level="info", message="m", grouping="run")
    sink.log(entry)
    sink.save_file("a.txt", b"1")
    assert sink.logs == [entry] and sink.files == {"a.txt": b"1"}

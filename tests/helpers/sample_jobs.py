"""Job classes the execution tests run as source "system" (importable, no git needed)."""

import os
import signal
import sys
import time

from service.jobs import FileVar, IntegerVar, Job, JSONVar, StringVar
from service.jobs.errors import SoftTimeLimitExceeded


class Hello(Job):
    who = StringVar(default="world")

    class Meta:
        name = "Hello"
        has_sensitive_variables = False

    def run(self, who):
        self.logger.info("hello %s", who)
        return {"greeted": who}


class Raises(Job):
    class Meta:
        has_sensitive_variables = False

    def run(self):
        raise ValueError("boom")


class SysExit(Job):
    class Meta:
        has_sensitive_variables = False

    def run(self):
        sys.exit(3)


class HardExit(Job):
    class Meta:
        has_sensitive_variables = False

    def run(self):
        os._exit(7)


class Segfault(Job):
    class Meta:
        has_sensitive_variables = False

    def run(self):
        os.kill(os.getpid(), signal.SIGSEGV)


class Sleeper(Job):
    seconds = IntegerVar(default=60)

    class Meta:
        has_sensitive_variables = False
        time_limit = 1

    def run(self, seconds):
        self.logger.info("sleeping")
        time.sleep(seconds)


class SoftLimited(Job):
    class Meta:
        has_sensitive_variables = False
        soft_time_limit = 0.5
        time_limit = 30

    def run(self):
        try:
            time.sleep(30)
        except SoftTimeLimitExceeded:
            self.logger.warning("cleaning up after soft limit")
            raise


class Secretive(Job):
    password = StringVar()

    class Meta:
        has_sensitive_variables = True

    def run(self, password):
        self.logger.info("got a password of length %d", len(password))
        return len(password)


class SecretiveFails(Job):
    password = StringVar()

    class Meta:
        has_sensitive_variables = True

    def run(self, password):
        raise ValueError("could not log in\nsecond line with more detail")


class Upload(Job):
    config = FileVar()

    class Meta:
        has_sensitive_variables = False

    def run(self, config):
        return {"name": config.name, "size": len(config.read())}


class Spy(Job):
    """Patches its process to capture the input of whatever runs in it next, then reports it."""

    mode = StringVar()

    def run(self, mode):
        import builtins

        from service.jobs import lifecycle

        if mode == "plant":
            original = lifecycle.execute

            def capture(job_class, data, **options):
                builtins.__jobsync_captured__ = dict(data)
                return original(job_class, data, **options)

            lifecycle.execute = capture
            return "planted"
        return getattr(builtins, "__jobsync_captured__", None)


class Pid(Job):
    def run(self):
        return os.getpid()


class SensitivePid(Job):
    token = StringVar()

    class Meta:
        has_sensitive_variables = True

    def run(self, token):
        return os.getpid()


class PickleThrower(Job):
    """Writes a pickle to its reporting pipe that would create ``marker`` in whoever unpickles it."""

    marker = StringVar()

    def run(self, marker):
        import gc
        import multiprocessing.connection
        import pickle

        class Payload:
            def __reduce__(self):
                return (open, (marker, "w"))

        for candidate in gc.get_objects():
            if isinstance(candidate, multiprocessing.connection.Connection) and not candidate.closed:
                candidate.send_bytes(pickle.dumps(("done", Payload())))
        return "sent"


class Nap(Job):
    """The fault suite's job: says it runs (so a second execution shows), then rests a moment."""

    milliseconds = IntegerVar(default=300)

    class Meta:
        has_sensitive_variables = False

    def run(self, milliseconds):
        self.logger.info("executing")
        time.sleep(milliseconds / 1000)
        return "rested"


class Flaky(Job):
    """Fails by exception, which its Meta retries twice, 5 s then 15 s apart (jitter at most 10%)."""

    class Meta:
        has_sensitive_variables = False
        retries = 2
        retry_backoff = {"base": 5, "factor": 3, "max": 600, "jitter": 0.1}

    def run(self):
        raise ValueError("flaky")


class FlakyVerdict(Job):
    """Declares retries but fails by its own verdict, which is never retried."""

    class Meta:
        has_sensitive_variables = False
        retries = 2

    def run(self):
        self.fail("the device said no")


class FlakyNarrow(Job):
    """Retries only on TimeoutError, and raises something else."""

    class Meta:
        has_sensitive_variables = False
        retries = 2
        retry_on = (TimeoutError,)

    def run(self):
        raise ValueError("not a timeout")


class ChainHead(Job):
    """Starts others when it ends (the rows name which: class paths in tests carry a suffix)."""

    fail_it = IntegerVar(default=0)

    class Meta:
        has_sensitive_variables = False
        on_success_run = "system/tests.helpers.sample_jobs/Downstream"
        on_failure_run = "system/tests.helpers.sample_jobs/Downstream"
        retries = 1  # used when its row says so too (the tests' rows default to none)

    def run(self, fail_it):
        if fail_it:
            raise ValueError("head failed")
        return {"devices": 3}


class Downstream(Job):
    """Receives the run that started it as its ``upstream`` variable, and returns it."""

    upstream = JSONVar(required=False)

    class Meta:
        has_sensitive_variables = False

    def run(self, upstream=None):
        return upstream


def _read_environ(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return handle.read().decode(errors="replace").replace("\0", "\n")
    except OSError as exc:
        return f"refused: {type(exc).__name__}"


def _parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


class ReadsEnvironment(Job):
    """Reports what job code can see of its own, its parent's and its grandparent's environment."""

    class Meta:
        has_sensitive_variables = False

    def run(self):
        parent = os.getppid()
        return {"own": "\n".join(f"{k}={v}" for k, v in os.environ.items()),
                "parent": _read_environ(parent), "grandparent": _read_environ(_parent_of(parent))}


class Traced(Job):
    """Opens a span of its own (tests/observability/test_tracing.py)."""

    def run(self):
        from opentelemetry import trace

        with trace.get_tracer("a-job").start_as_current_span("inside-the-job"):
            self.logger.info("traced")
        return 1


class Chatty(Job):
    """Logs ``lines`` lines of ``width`` characters and writes ``files`` files (run limits)."""

    lines = IntegerVar(default=0)
    width = IntegerVar(default=10)
    files = IntegerVar(default=0)

    class Meta:
        has_sensitive_variables = False

    def run(self, lines, width, files):
        for number in range(lines):
            self.logger.info("%d:%s", number, "x" * width)
        for number in range(files):
            self.create_file(f"file{number}.txt", "data")
        return "done"

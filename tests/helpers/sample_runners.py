"""JobRunners the scheduling tests enqueue (importable by worker processes as tests.scheduling...)."""

import time

from service.jobs import JobRunner


class Greeter(JobRunner):
    class Meta:
        name = "Greeter"

    def run(self, who="world", punctuation="!"):
        self.logger.info("greeting %s", who)
        return f"hello {who}{punctuation}"


class Exploder(JobRunner):
    def run(self):
        raise RuntimeError("exploded on purpose")


class Dawdler(JobRunner):
    """Works for a long time: long enough for a test to kill its worker mid-run."""

    def run(self, seconds=60):
        time.sleep(seconds)


class Reconnecting(JobRunner):
    """Declares retries, as a Job does: a dropped connection is worth another attempt, a bug is not."""

    class Meta:
        retries = 2
        retry_backoff = {"base": 5, "factor": 3, "jitter": 0}
        retry_on = (ConnectionError,)

    def run(self, error="connection"):
        if error == "connection":
            raise ConnectionError("the device hung up")
        raise ValueError("a bug, not a hiccup")


class RepeatableDawdler(Dawdler):
    """Safe to run again if its worker dies mid-run, and declares no retries: re-queued once."""

    class Meta:
        retry_on_worker_lost = True

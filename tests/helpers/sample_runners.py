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

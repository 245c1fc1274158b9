"""How a 2.x job ends: failure logs, fail(), exceptions, missing run()."""

from nautobot.apps.jobs import Job, RunJobTaskFailed, register_jobs
from nautobot.core.celery import register_jobs as celery_register_jobs


class LogsFailure(Job):
    def run(self):
        self.logger.failure("interface Gi0/1 is down")
        self.logger.critical("this is critical")
        return "carried on"


class CallsFail(Job):
    def run(self):
        self.fail("2 of %d devices unreachable", 5)
        self.logger.info("still going")
        return {"checked": 5}


class Raises(Job):
    def run(self):
        raise ValueError("bad inventory")


class GivesUp(Job):
    def run(self):
        raise RunJobTaskFailed("cannot continue")


class NoRun(Job):
    """Nautobot registers a job without run(); running it fails."""


class Broken(Job):
    class Meta:
        hidden = "sometimes"  # not a bool: this class is refused, its siblings are not

    def run(self):
        return None


register_jobs(LogsFailure, CallsFail, Raises, Broken, NoRun)
celery_register_jobs(GivesUp)

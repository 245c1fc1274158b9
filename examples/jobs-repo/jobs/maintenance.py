import time

from service.jobs import IntegerVar, Job, register_jobs

name = "Maintenance"


class SlowCleanup(Job):
    """Pretend to clean up for a while; killed after its 30 s time limit."""

    seconds = IntegerVar(default=2, min_value=0, max_value=120)

    class Meta:
        name = "Slow cleanup"
        has_sensitive_variables = False
        soft_time_limit = 20
        time_limit = 30
        task_queues = ["low", "default"]

    def run(self, *, seconds):
        for step in range(seconds):
            self.logger.info("Cleaning step %d of %d", step + 1, seconds)
            time.sleep(1)
        return {"steps": seconds}


register_jobs(SlowCleanup)

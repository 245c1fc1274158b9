import platform

from service.jobs import Job, register_jobs

name = "Reports"


class EnvironmentReport(Job):
    """Report on the worker's environment; read-only, so it always runs as a dry run."""

    class Meta:
        name = "Environment report"
        read_only = True
        has_sensitive_variables = False

    def run(self):
        self.logger.info("Python %s on %s", platform.python_version(), platform.system())
        if not self.dryrun:
            self.fail("A read-only job should always be dry")
        return {"python": platform.python_version()}


register_jobs(EnvironmentReport)

"""A Nautobot 1.x module: no register_jobs and no jobs list, so every job class in it counts."""

from nautobot.extras.jobs import Job, StringVar

name = "Legacy checks"


class CheckBase(Job):
    """A shared base without run(): not a job of its own."""

    def helper(self):
        return "shared"


class VerifyHostname(CheckBase):
    hostname = StringVar(description="Host to verify")

    class Meta:
        description = "Checks a hostname the 1.x way"

    def run(self, data, commit):
        self.log_info(obj=None, message=f"user {self.request.user.username}")
        if not data["hostname"].islower():
            self.log_failure(None, f"{data['hostname']} is not lower case")
        return self.helper()


class Report(Job):
    def test_first(self):
        self.log_success(None, "first check passed")

    def test_second(self):
        self.log_warning(None, "second check is only a warning")

    def post_run(self):
        self.log_info(None, "post_run ran")

"""A Nautobot 1.x module kept in a 2.x repository: no register_jobs, a jobs list."""

from nautobot.extras.jobs import Job, StringVar


class LegacyEcho(Job):
    text = StringVar(label="Text")

    class Meta:
        name = "Legacy echo"
        commit_default = False

    def run(self, data, commit):
        self.log_info(None, f"commit={commit}")
        self.log_success(obj=None, message=f"echo {data['text']}")
        return data["text"]


class NotListed(Job):
    def run(self, data, commit):
        return "never discovered: the jobs list leaves it out"


jobs = [LegacyEcho]

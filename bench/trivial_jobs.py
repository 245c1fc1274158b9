"""The job bench/dispatch.py runs: one log line and a result, nothing else."""

from service.jobs import Job


class Trivial(Job):
    class Meta:
        name = "Trivial"
        description = "Log one line and return a result (dispatch benchmark)."
        has_sensitive_variables = False

    def run(self):
        self.logger.info("trivial run")
        return {"ok": True}


class TrivialComputedKey(Trivial):
    """The same run, its concurrency key computed by a function (bench/callable_keys.py)."""

    class Meta(Trivial.Meta):
        @staticmethod
        def concurrency_key(data, context):
            return f"bench:{context['object_id']}"

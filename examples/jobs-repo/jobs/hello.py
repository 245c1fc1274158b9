from service.jobs import Job, StringVar, register_jobs

name = "Getting started"


class HelloWorld(Job):
    """Greet someone: the smallest useful job."""

    who = StringVar(default="world", description="Who to greet", max_length=50)

    class Meta:
        name = "Hello world"
        description = "Log a greeting and return it.\n\nThe first line above is the summary."
        has_sensitive_variables = False

    def run(self, *, who):
        self.logger.info("Hello, %s!", who)
        self.logger.success("Greeted %s", who, extra={"grouping": "greeting"})
        return {"greeting": f"Hello, {who}!"}


register_jobs(HelloWorld)

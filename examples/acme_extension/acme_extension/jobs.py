"""The extension's jobs: registered here, listed as ``extensions/acme.jobs/<Class>``."""

from service.jobs import IntegerVar, Job, StringVar, register_jobs

name = "Acme"  # the grouping these jobs are listed under (Nautobot's module-level name)


class InventoryReport(Job):
    """Count the items of a site (a stand-in for a real report)."""

    site = StringVar(description="Site to report on")
    items = IntegerVar(default=3, required=False, description="How many items it holds")

    class Meta:
        name = "Inventory report"
        task_queues = ["acme.reports"]
        has_sensitive_variables = False

    def run(self, *, site, items):
        self.logger.info("Counting items at %s", site)
        return {"site": site, "items": items}


class Ping(Job):
    """Answer pong: checks that acme's jobs load on a worker."""

    class Meta:
        name = "Ping"
        has_sensitive_variables = False

    def run(self):
        return "pong"


register_jobs(InventoryReport, Ping)

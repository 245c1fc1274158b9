"""A job asking for Celery's stock queue."""

from nautobot.apps.jobs import Job, register_jobs


class OnCeleryQueue(Job):
    class Meta:
        task_queues = ["celery"]

    def run(self):
        return "ran on an aliased queue"


register_jobs(OnCeleryQueue)

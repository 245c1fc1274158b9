"""A job hook reading the change as Nautobot hands it."""

from nautobot.apps.jobs import JobHookReceiver, register_jobs


class RenameWatcher(JobHookReceiver):
    def receive_job_hook(self, change, action, changed_object):
        snapshots = change.get_snapshots()
        self.logger.info("%s %s", action, changed_object.name)
        return snapshots["differences"]


register_jobs(RenameWatcher)

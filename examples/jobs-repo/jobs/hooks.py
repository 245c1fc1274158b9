from service.jobs import JobHookReceiver, register_jobs

name = "Receivers"


class LogDeviceChange(JobHookReceiver):
    """Log what changed on an object; point a job hook for dcim.device at it."""

    class Meta:
        name = "Log device change"

    def receive_job_hook(self, change, action, changed_object):
        self.logger.info("%s %s %s", action, change.get("object_type"), change.get("object_repr"))
        if action == "update":
            before, after = change.get("prechange") or {}, change.get("postchange") or {}
            for key in sorted(set(before) | set(after)):
                if before.get(key) != after.get(key):
                    self.logger.info("%s: %r -> %r", key, before.get(key), after.get(key))


register_jobs(LogDeviceChange)

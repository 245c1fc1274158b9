"""self.request, self.user, self.job_result, and metadata set on the class itself."""

from nautobot.apps.jobs import Job, register_jobs


class WhoAmI(Job):
    name = "Who am I"
    description = "Reports who started it."

    def run(self):
        return {
            "request_id_is_result_id": str(self.request.id) == str(self.job_result.id),
            "username": self.user.username,
            "request_user": self.request.user.username,
            "result_user": self.job_result.user.username,
            "may_delete_devices": self.user.has_perm("dcim.delete_device"),
            "task_kwargs": self.job_result.task_kwargs,
            "has_created": self.job_result.date_created is not None,
        }


register_jobs(WhoAmI)

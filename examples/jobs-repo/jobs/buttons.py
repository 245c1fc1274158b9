from service.jobs import JobButtonReceiver, register_jobs

name = "Receivers"


class DescribeObject(JobButtonReceiver):
    """Describe the object whose button was pressed."""

    class Meta:
        name = "Describe object"

    def receive_job_button(self, obj):
        self.logger.info("Button pressed on %s", obj, extra={"object": obj})
        return {"object_type": obj.object_type, "id": obj.id}


register_jobs(DescribeObject)

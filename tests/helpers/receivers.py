"""Receiver jobs the hook and button tests run as source "system" (importable, no git needed)."""

from service.jobs import JobButtonReceiver, JobHookReceiver


class EchoChange(JobHookReceiver):
    class Meta:
        has_sensitive_variables = False

    def receive_job_hook(self, change, action, changed_object):
        return {"action": action, "object_id": change["object_id"], "changed_object": changed_object}


class EchoObject(JobButtonReceiver):
    class Meta:
        has_sensitive_variables = False

    def receive_job_button(self, obj):
        return {"object_type": obj.object_type, "id": obj.id, "name": obj.name}

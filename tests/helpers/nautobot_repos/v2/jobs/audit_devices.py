"""Needs Nautobot's ORM: this module fails discovery on its own."""

from nautobot.apps.jobs import Job, register_jobs
from nautobot.dcim.models import Device


class CountDevices(Job):
    def run(self):
        return Device.objects.count()


register_jobs(CountDevices)

"""A jobs repository written for Nautobot 2.x/3.x (plus one 1.x module), synced unchanged."""

from . import addressing, audit_devices, hooks, lifecycle, old_style, outcomes, queues, requests, tasks  # noqa: F401

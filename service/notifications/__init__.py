"""Notifications: rules matching run, sync, approval and queue events, and their delivery."""

"""SQLAlchemy models: one module per family of rows, re-exported here."""

from service.models.base import Base, utcnow
from service.models.environment import JobEnvironment
from service.models.hooks import JobButton, JobHook, ObjectChangeEvent
from service.models.idempotency import IdempotencyKey
from service.models.job import OVERRIDABLE_FIELDS, Job
from service.models.lease import LockLease
from service.models.notification import NotificationDelivery, NotificationRule
from service.models.repository import GitRepository
from service.models.result import LOG_LEVELS, ConcurrencySlot, JobLogEntry, JobOutputFile, JobResult, Status
from service.models.scheduling import ScheduledJob, ScheduledSlot
from service.models.user import PERMISSIONS, LoginFailure, Token, User
from service.models.webhook import WebhookDelivery

__all__ = [
    "LOG_LEVELS",
    "OVERRIDABLE_FIELDS",
    "PERMISSIONS",
    "Base",
    "ConcurrencySlot",
    "GitRepository",
    "IdempotencyKey",
    "Job",
    "JobButton",
    "JobEnvironment",
    "JobHook",
    "JobLogEntry",
    "JobOutputFile",
    "JobResult",
    "LockLease",
    "LoginFailure",
    "NotificationDelivery",
    "NotificationRule",
    "ObjectChangeEvent",
    "ScheduledJob",
    "ScheduledSlot",
    "Status",
    "Token",
    "User",
    "WebhookDelivery",
    "utcnow",
]

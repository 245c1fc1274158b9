"""jobsync's exception tree, mapped to HTTP statuses in one place (``service.api.errors``).

JobsyncError                                  (service.jobs.errors)
 ├── ValidationError(fields)                  400  bad input, field -> [messages]
 ├── RegistrationError                        a job class refused at registration
 ├── SoftTimeLimitExceeded                    inside a job at its soft limit
 ├── RepositoryError                          (repos.errors) git, checkout, discovery, dependencies
 ├── WebhookError                             (webhooks.errors) signatures, payloads
 └── ServiceError
      ├── ConfigError                         bad configuration: start-up stops, exit 2
      ├── NotFound                            404  no such row
      ├── AuthenticationFailed                401  no or bad credentials
      ├── PermissionDenied                    403  authenticated, not allowed
      ├── JobNotRunnable                      405  disabled or uninstalled job (as Nautobot answers)
      ├── Conflict                            409  e.g. a singleton job already running
      ├── TooManyRequests                     429  a rate limit (per source address)
      ├── BrokerUnavailable                   503  the broker cannot be reached
      ├── DatabaseUnavailable                 503  the database cannot be reached
      └── NotificationFailed                  a channel refused or could not be reached (retried)
"""

from service.jobs.errors import JobsyncError, RegistrationError, SoftTimeLimitExceeded, ValidationError


class ServiceError(JobsyncError):
    """Base of errors raised by the service core."""

    status = 500


class ConfigError(ServiceError):
    """The configuration is invalid; ``key`` names the offending setting."""

    code = "config"

    def __init__(self, message: str, *, key: str | None = None):
        super().__init__(message)
        self.key = key


class NotFound(ServiceError):
    code = "not_found"
    status = 404


class AuthenticationFailed(ServiceError):
    code = "not_authenticated"
    status = 401


class PermissionDenied(ServiceError):
    code = "permission_denied"
    status = 403


class JobNotRunnable(ServiceError):
    code = "job_not_runnable"
    status = 405


class Conflict(ServiceError):
    code = "conflict"
    status = 409


class TooManyRequests(ServiceError):
    code = "too_many_requests"
    status = 429


class BrokerUnavailable(ServiceError):
    code = "broker_unavailable"
    status = 503


class DatabaseUnavailable(ServiceError):
    code = "database_unavailable"
    status = 503


class NotificationFailed(ServiceError):
    """A notification channel refused the message or could not be reached; the text never holds
    the channel's URL or credentials."""

    code = "notification_failed"


__all__ = [
    "AuthenticationFailed",
    "BrokerUnavailable",
    "ConfigError",
    "Conflict",
    "DatabaseUnavailable",
    "JobNotRunnable",
    "JobsyncError",
    "NotFound",
    "NotificationFailed",
    "PermissionDenied",
    "RegistrationError",
    "ServiceError",
    "SoftTimeLimitExceeded",
    "TooManyRequests",
    "ValidationError",
]

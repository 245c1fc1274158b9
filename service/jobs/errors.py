"""The base of jobsync's exception tree, importable by job authors and every layer.

JobsyncError                      every error jobsync raises on purpose
 ├── ValidationError              bad input; ``fields`` maps field -> [messages]   (HTTP 400)
 ├── RegistrationError            a job class refused by ``register_jobs``
 ├── SoftTimeLimitExceeded        raised inside a job when its soft time limit passes
 ├── JobFailed                    raised by job code to end its run FAILURE with a message
 │    └── RunJobTaskFailed        Nautobot's name for it
 ├── JobNotRunning                a run-only facility (``create_file``) used outside a run
 ├── FileTooLarge                 ``create_file`` content above the run's size limit
 ├── DispatcherNotConfigured      ``JobRunner.enqueue`` before the service installed a dispatcher
 └── RunnerNotFound               no ``JobRunner`` at the given ``module:QualName`` path

``repos.errors`` adds the git and discovery branch; ``service.errors`` adds the service
branch and draws the whole tree.
"""


class JobsyncError(Exception):
    """Base of every error jobsync raises on purpose."""

    code = "error"


class ValidationError(JobsyncError):
    """Input that does not validate; ``fields`` names each bad field with its messages."""

    code = "invalid"

    def __init__(self, fields: dict[str, list[str]] | str, message: str | None = None):
        if isinstance(fields, str):
            fields = {"__all__": [fields]}
        self.fields = {name: list(messages) for name, messages in fields.items()}
        if message is None:
            message = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in self.fields.items())
        super().__init__(message)


class RegistrationError(JobsyncError):
    """A class that cannot be registered as a job."""

    code = "registration"


class SoftTimeLimitExceeded(JobsyncError):
    """Raised inside a running job when its soft time limit has passed, so it can clean up."""

    code = "soft_time_limit"


class JobFailed(JobsyncError):
    """Job code gives up: the run ends FAILURE with this message."""

    code = "job_failed"


class RunJobTaskFailed(JobFailed):
    """Nautobot's exception for a job that cannot go on, so its job code runs unchanged."""


class JobNotRunning(JobsyncError):
    """A facility that only exists while the lifecycle driver runs the job was used outside it."""

    code = "job_not_running"


class FileTooLarge(JobsyncError):
    """A file created by a job exceeds the run's size limit."""

    code = "file_too_large"


class DispatcherNotConfigured(JobsyncError):
    """A JobRunner was enqueued before the service installed its dispatcher."""

    code = "dispatcher_not_configured"


class RunnerNotFound(JobsyncError):
    """No JobRunner is registered (or importable) at the given path."""

    code = "runner_not_found"

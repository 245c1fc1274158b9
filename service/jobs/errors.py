"""The base of jobsync's exception tree, importable by job authors and every layer.

JobsyncError                      every error jobsync raises on purpose
 ├── ValidationError              bad input; ``fields`` maps field -> [messages]   (HTTP 400)
 ├── RegistrationError            a job class refused by ``register_jobs``
 └── SoftTimeLimitExceeded        raised inside a job when its soft time limit passes

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

"""What a running job can reach of its run: the sink for created files, and its limits."""

from dataclasses import dataclass
from typing import Any

from .errors import FileTooLarge, ValidationError
from .logs import LogSink

DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024
_MAX_NAME_LENGTH = 255


def _check_file_name(name: Any) -> str:
    problem = None
    if not isinstance(name, str) or not name.strip():
        problem = "Give the file a name."
    elif len(name) > _MAX_NAME_LENGTH:
        problem = f"File names are limited to {_MAX_NAME_LENGTH} characters."
    elif any(char in name for char in "/\\\0") or name in (".", ".."):
        problem = "File names cannot contain path separators."
    if problem:
        raise ValidationError({"name": [problem]})
    return name


def _as_bytes(content: Any) -> bytes:
    if isinstance(content, str):
        return content.encode("utf-8")
    if isinstance(content, (bytes, bytearray, memoryview)):
        return bytes(content)
    raise ValidationError({"content": [f"File content must be str or bytes, not {type(content).__name__}."]})


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


@dataclass
class RunContext:
    """The driver's side of a run, handed to the job instance while it runs."""

    sink: LogSink
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES

    def save_file(self, name: Any, content: Any) -> None:
        """Store a file created by the job; raises FileTooLarge above the limit."""
        name = _check_file_name(name)
        data = _as_bytes(content)
        if len(data) > self.max_file_bytes:
            raise FileTooLarge(
                f"File {name!r} is {len(data)} bytes ({_mib(len(data))}); "
                f"jobs may create files of at most {self.max_file_bytes} bytes ({_mib(self.max_file_bytes)})."
            )
        self.sink.save_file(name, data)


@dataclass(frozen=True)
class TaskRequest:
    """What a job sees as ``self.request``: ``.id`` (Nautobot 2's Celery task id, the run's id) and
    ``.user`` (Nautobot 1.x's web request user)."""

    id: str
    user: Any = None


@dataclass(frozen=True)
class RunUser:
    """The user a run belongs to, as job code sees it (``self.user``, ``self.request.user``)."""

    id: str | None = None
    username: str = ""

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        """Answer Nautobot's permission question: jobsync has no Nautobot object permissions, so no."""
        return False

    def __str__(self) -> str:
        return self.username


@dataclass(frozen=True)
class RunRecord:
    """What job code sees as ``self.job_result``: the run's id, user, input and creation time."""

    id: str
    user: RunUser | None = None
    task_kwargs: dict | None = None
    date_created: Any = None

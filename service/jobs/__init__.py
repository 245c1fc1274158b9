"""jobsync's job-authoring API: Nautobot-compatible ``Job`` classes and variables, receivers,
NetBox-style ``JobRunner`` background jobs, the lifecycle driver and a test helper.

Pure Python: nothing here imports the service, the database, the broker or git.
"""

from .backends import BackendContext, DataBackend
from .base import Job
from .context import DEFAULT_MAX_FILE_BYTES
from .errors import (
    DispatcherNotConfigured,
    FileTooLarge,
    JobFailed,
    JobNotRunning,
    JobsyncError,
    RegistrationError,
    RunnerNotFound,
    SoftTimeLimitExceeded,
    ValidationError,
)
from .intervals import JobIntervals
from .lifecycle import ExceptionInfo, RunOutcome, execute
from .logs import FAILURE, SUCCESS, JobLogger, LogEntry, LogSink
from .options import JobOptions
from .receivers import JobButtonReceiver, JobHookReceiver, ObjectData
from .registry import clear_registry, job_path, register_jobs, registered_jobs
from .runner import (
    JobRunner,
    find_runner,
    get_dispatcher,
    registered_runners,
    runner_path,
    set_dispatcher,
    system_job,
    system_jobs,
)
from .sanitise import DEFAULT_PATTERNS, Sanitiser
from .testing import MemorySink, TestRun, run_job_for_testing
from .variables import (
    BooleanVar,
    ChoiceVar,
    DryRunVar,
    FileVar,
    IntegerVar,
    IPAddressVar,
    IPAddressWithMaskVar,
    IPNetworkVar,
    JSONVar,
    MultiChoiceVar,
    MultiObjectVar,
    ObjectVar,
    StringVar,
    TextVar,
    UploadedFile,
    Variable,
)

__all__ = [
    "BackendContext",
    "BooleanVar",
    "ChoiceVar",
    "DEFAULT_MAX_FILE_BYTES",
    "DEFAULT_PATTERNS",
    "DataBackend",
    "DispatcherNotConfigured",
    "DryRunVar",
    "ExceptionInfo",
    "FAILURE",
    "FileTooLarge",
    "FileVar",
    "IPAddressVar",
    "IPAddressWithMaskVar",
    "IPNetworkVar",
    "IntegerVar",
    "JSONVar",
    "Job",
    "JobButtonReceiver",
    "JobFailed",
    "JobHookReceiver",
    "JobIntervals",
    "JobLogger",
    "JobNotRunning",
    "JobOptions",
    "JobRunner",
    "JobsyncError",
    "LogEntry",
    "LogSink",
    "MemorySink",
    "MultiChoiceVar",
    "MultiObjectVar",
    "ObjectData",
    "ObjectVar",
    "RegistrationError",
    "RunOutcome",
    "RunnerNotFound",
    "SUCCESS",
    "Sanitiser",
    "SoftTimeLimitExceeded",
    "StringVar",
    "TestRun",
    "TextVar",
    "UploadedFile",
    "ValidationError",
    "Variable",
    "clear_registry",
    "execute",
    "find_runner",
    "get_dispatcher",
    "job_path",
    "register_jobs",
    "registered_jobs",
    "registered_runners",
    "run_job_for_testing",
    "runner_path",
    "set_dispatcher",
    "system_job",
    "system_jobs",
]

"""jobsync's job-authoring API: Nautobot-compatible ``Job`` classes and variables, receivers,
NetBox-style ``JobRunner`` background jobs, the lifecycle driver and a test helper.

Pure Python: nothing here imports the service, the database, the broker or git.
"""

from .backends import BackendContext, DataBackend
from .base import BaseJob, Job, is_job
from .context import DEFAULT_MAX_FILE_BYTES
from .errors import (
    DispatcherNotConfigured,
    FileTooLarge,
    JobFailed,
    JobNotRunning,
    JobsyncError,
    RegistrationError,
    RunJobTaskFailed,
    RunnerNotFound,
    SoftTimeLimitExceeded,
    ValidationError,
)
from .intervals import JobIntervalChoices, JobIntervals
from .lifecycle import ExceptionInfo, RunOutcome, execute
from .logs import FAILURE, SUCCESS, JobLogger, LogEntry, LogSink, get_task_logger
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
    ScriptVariable,
    StringVar,
    TextVar,
    UploadedFile,
    Variable,
    is_variable,
)

__all__ = [
    "BackendContext",
    "BaseJob",
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
    "JobIntervalChoices",
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
    "RunJobTaskFailed",
    "RunOutcome",
    "RunnerNotFound",
    "SUCCESS",
    "Sanitiser",
    "ScriptVariable",
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
    "get_task_logger",
    "is_job",
    "is_variable",
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

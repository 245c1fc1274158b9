"""What discovery found in a checkout: plain dataclasses that travel as JSON from the child process."""

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["DiscoveredJob", "DiscoveryReport", "ModuleError", "PROGRESS_PREFIX"]

# Marks the child's "begin/end <module>" lines on stderr, so a hang or crash can be pinned to a module.
PROGRESS_PREFIX = "##jobsync-import "


@dataclass(frozen=True)
class DiscoveredJob:
    """One registered job class and its spec (``job_spec()``: metadata, variables, receiver kind)."""

    module_name: str
    class_name: str
    spec: dict[str, Any]


@dataclass(frozen=True)
class ModuleError:
    """A module of the repository that failed to import, with the error and its traceback."""

    module_name: str
    error: str
    traceback: str = ""


@dataclass(frozen=True)
class DiscoveryReport:
    """Everything discovery learned: jobs found, modules that failed, or why the package as a whole failed.

    ``package_error`` set means nothing could be discovered (no ``jobs`` package, or its ``__init__``
    failed for its own reasons): keep every existing job rather than removing them.
    """

    namespace: str
    jobs: list[DiscoveredJob] = field(default_factory=list)
    module_errors: list[ModuleError] = field(default_factory=list)
    package_error: str | None = None
    package_traceback: str | None = None

    @property
    def failed_modules(self) -> set[str]:
        """Return the module names whose jobs must be kept as they were (the package's when it failed)."""
        failed = {error.module_name for error in self.module_errors}
        if self.package_error is not None:
            failed.add(f"{self.namespace}.jobs")
        return failed

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data (specs shared, not copied: ``asdict`` deep-copied
        every spec, seconds at 10,000 jobs)."""
        return {
            "namespace": self.namespace,
            "jobs": [
                {"module_name": job.module_name, "class_name": job.class_name, "spec": job.spec}
                for job in self.jobs
            ],
            "module_errors": [asdict(error) for error in self.module_errors],
            "package_error": self.package_error,
            "package_traceback": self.package_traceback,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DiscoveryReport":
        """Rebuild a report from ``to_dict`` output; raise KeyError/TypeError on malformed data."""
        return cls(
            namespace=data["namespace"],
            jobs=[DiscoveredJob(**job) for job in data["jobs"]],
            module_errors=[ModuleError(**error) for error in data["module_errors"]],
            package_error=data["package_error"],
            package_traceback=data.get("package_traceback"),
        )

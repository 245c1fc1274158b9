"""Find the jobs a checkout offers by importing it in a child process, never in this one.

The child (``repos.discover_child``) gets a minimal environment (no JOBSYNC_* settings, no git
credentials, no database URL: ``repos.process_guard``), cannot trace or read the non-dumpable
service process even when started by root (tracing capabilities dropped), runs isolated
(``python -I -B``: no user site, no cwd on sys.path, no bytecode written) with the checkout as
its cwd, and is killed with its whole process group at the timeout.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

from repos.errors import DiscoveryCrashed, DiscoveryTimedOut
from repos.naming import is_slug_shaped
from repos.process_guard import child_environment, drop_ptrace_capability
from repos.report import PROGRESS_PREFIX, DiscoveredJob, DiscoveryReport, ModuleError
from service.jobs.errors import ValidationError

__all__ = [
    "DEFAULT_TIMEOUT",
    "DiscoveredJob",
    "DiscoveryReport",
    "ModuleError",
    "child_environment",
    "discover",
]

DEFAULT_TIMEOUT = 60.0
_GRACE_AFTER_KILL = 5.0
_STDERR_TAIL_LINES = 8


def discover(
    slug: str,
    checkout: str | Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    environment: str | Path | None = None,
) -> DiscoveryReport:
    """Import ``checkout``'s jobs package as ``<slug>.jobs`` in a child process and report the jobs found.

    ``environment`` is the folder of the commit's declared dependencies (``repos.environments``):
    the child imports from it ahead of the service's own packages.

    Raises DiscoveryTimedOut (naming the module being imported when known) or DiscoveryCrashed.
    """
    if not is_slug_shaped(slug):
        raise ValidationError({"slug": [f"{slug!r} is not a valid repository slug."]})
    checkout = Path(checkout).resolve()
    command = [sys.executable, "-I", "-B", "-m", "repos.discover_child", slug, str(checkout)]
    if environment is not None:
        command.append(str(environment))
    # The child writes to unlinked files, not pipes: each of its 2,000 progress lines for a
    # 1,000-module repository woke a reader blocked on a pipe (a context switch apiece, seconds on a
    # loaded machine), and a grandchild keeping a pipe open can no longer hold the sync up.
    with tempfile.TemporaryFile() as stdout_file, tempfile.TemporaryFile() as stderr_file:
        process = subprocess.Popen(
            command,
            cwd=checkout,
            env=child_environment(),
            stdin=subprocess.DEVNULL,
            stdout=stdout_file,
            stderr=stderr_file,
            start_new_session=True,
            preexec_fn=drop_ptrace_capability,  # two ctypes calls between fork and exec
        )
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
            module = _module_in_progress(_read(stderr_file))
            where = f" while importing {module}" if module else ""
            raise DiscoveryTimedOut(
                f"Discovery of {slug!r} did not finish within {timeout:g} s{where}; the child was killed.",
                module_name=module,
                timeout=timeout,
            ) from None
        finally:
            if process.poll() is None:
                _kill(process)
        report = _parse_report(_read(stdout_file)) if process.returncode == 0 else None
        if report is not None:
            return report
        _crash(slug, process.returncode, _read(stderr_file))


def _read(file) -> bytes:
    file.seek(0)
    return file.read()


def _crash(slug: str, returncode: int, stderr: bytes) -> NoReturn:
    module = _module_in_progress(stderr)
    reason = _describe_exit(returncode)
    where = f" while importing {module}" if module else ""
    tail = _stderr_tail(stderr)
    detail = f": {tail}" if tail else ""
    raise DiscoveryCrashed(
        f"Discovery of {slug!r} ended without a report ({reason}){where}{detail}",
        module_name=module,
        returncode=returncode,
    )


def _parse_report(stdout: bytes) -> DiscoveryReport | None:
    try:
        return DiscoveryReport.from_dict(json.loads(stdout))
    except (ValueError, KeyError, TypeError):
        return None


def _kill(process: subprocess.Popen) -> None:
    """Kill the child's whole process group and reap the child."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=_GRACE_AFTER_KILL)
    except subprocess.TimeoutExpired:
        process.kill()


def _progress_events(stderr: bytes) -> list[tuple[str, str]]:
    events = []
    for line in stderr.decode("utf-8", "replace").splitlines():
        if line.startswith(PROGRESS_PREFIX):
            event, _, module = line[len(PROGRESS_PREFIX) :].partition(" ")
            events.append((event, module))
    return events


def _module_in_progress(stderr: bytes) -> str | None:
    """Return the innermost repository module that began executing and never ended."""
    open_modules: list[str] = []
    for event, module in _progress_events(stderr):
        if event == "begin":
            open_modules.append(module)
        elif event == "end" and module in open_modules:
            del open_modules[len(open_modules) - 1 - open_modules[::-1].index(module)]
    return open_modules[-1] if open_modules else None


def _stderr_tail(stderr: bytes) -> str:
    lines = [
        line.strip()
        for line in stderr.decode("utf-8", "replace").splitlines()
        if line.strip() and not line.startswith(PROGRESS_PREFIX)
    ]
    # faulthandler prints the innermost frames first, right after its "Fatal Python error" line.
    fatal = next((index for index, line in enumerate(lines) if line.startswith("Fatal Python error")), None)
    shown = lines[fatal : fatal + _STDERR_TAIL_LINES] if fatal is not None else lines[-_STDERR_TAIL_LINES:]
    return " | ".join(shown)[:1000]


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"

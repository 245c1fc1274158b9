"""Throwaway extension packages written into a temporary directory, and ways to run jobsync on them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

ACME = "acme_extension"  # the sample extension in examples/, pip-installed (scripts/test.sh)


def unique_package(stem: str = "ext") -> str:
    """A package name no other test uses, so each one is imported (and readied) afresh."""
    return f"{stem}_{uuid.uuid4().hex[:8]}"


def write_extension(root: Path, package: str, *, name: str, queues=(), settings=None, ready: str = "pass",
                    top: str = "", attributes: str = "", files: dict[str, str] | None = None) -> str:
    """Write package ``package`` under ``root`` exposing ``config``; return the package name.

    ``top`` is a line of module code before the class, ``attributes`` one more class attribute line.
    """
    directory = root / package
    directory.mkdir(parents=True)
    body = (
        "import os\n\nfrom service.extensions import ExtensionConfig\n\n"
        f"{top}\n\n"
        "class SampleConfig(ExtensionConfig):\n"
        f"    name = {name!r}\n"
        "    version = '0.1.0'\n"
        f"    queues = {list(queues)!r}\n"
        f"    settings = {dict(settings or {})!r}\n"
        f"    {attributes}\n\n"
        "    def ready(self):\n"
        f"        {ready}\n\n\n"
        "config = SampleConfig\n"
    )
    (directory / "__init__.py").write_text(body)
    for relative, text in (files or {}).items():
        (directory / relative).write_text(textwrap.dedent(text))
    return package


def cli_environment(base: dict[str, str], *, path: Path | None = None, **settings: str) -> dict[str, str]:
    """``base`` (the cli_env fixture) plus JOBSYNC_<KEY> settings and ``path`` on PYTHONPATH."""
    env = dict(base)
    env.update({f"JOBSYNC_{key.upper()}": value for key, value in settings.items()})
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (path, os.getcwd()) if p)
    return env


def jobsync(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``python -m service.cli ARGS`` to completion."""
    return subprocess.run([sys.executable, "-m", "service.cli", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def start_jobsync(env: dict[str, str], *args: str) -> subprocess.Popen:
    """Start a long-running ``python -m service.cli ARGS`` (a worker, the scheduler, serve)."""
    return subprocess.Popen([sys.executable, "-m", "service.cli", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def stop(process: subprocess.Popen) -> str:
    """Stop a process started by ``start_jobsync`` (SIGTERM, then SIGKILL); return its stderr."""
    if process.poll() is None:
        process.terminate()
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate(timeout=10)
    return stderr or ""


def stop_all(processes: dict[str, subprocess.Popen]) -> dict[str, str]:
    """Stop several processes at once (their shutdowns overlap); return each one's stderr."""
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
    return {name: stop(process) for name, process in processes.items()}

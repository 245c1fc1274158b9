"""Keep repository code (discovery and job children) out of the service's own processes.

Three rules, each one call:
- ``child_environment()``: the few variables a child may inherit; JOBSYNC_* settings, git
  credentials, tokens and the database URL stay behind.
- ``make_non_dumpable()``: the service's processes (web, worker, scheduler) refuse same-user
  ``/proc/<pid>/environ``, ``/proc/<pid>/mem`` and ptrace, so a child cannot read their secrets.
- ``drop_ptrace_capability()``: a child started by root loses the capabilities that would let it
  read a non-dumpable process anyway (CAP_SYS_PTRACE, and CAP_SYS_ADMIN and CAP_PERFMON, which
  the kernel also accepts for reading another process's environment).

Linux only; elsewhere the last two do nothing (there is no /proc to read).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import shlex
import stat
import sys
import tempfile
from pathlib import Path

__all__ = [
    "INHERITED_VARIABLES",
    "child_environment",
    "clean_python_launcher",
    "drop_ptrace_capability",
    "is_dumpable",
    "make_non_dumpable",
]

#: Variables a child may inherit; everything else (JOBSYNC_*, GIT_*, tokens, proxies) stays behind.
INHERITED_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")

_PR_SET_DUMPABLE = 4
_PR_GET_DUMPABLE = 3
_PR_CAPBSET_DROP = 24
#: CAP_SYS_PTRACE, CAP_SYS_ADMIN, CAP_PERFMON: each lets root read a non-dumpable process.
_TRACING_CAPABILITIES = (19, 21, 38)
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


def child_environment() -> dict[str, str]:
    """Return the allow-listed environment a discovery or job child starts with."""
    return {name: os.environ[name] for name in INHERITED_VARIABLES if name in os.environ}


@functools.cache
def _libc():
    # Loaded once, before any fork: find_library would start a subprocess, which a preexec_fn must not.
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


_libc()


def make_non_dumpable() -> bool:
    """Mark this process non-dumpable; return whether it now is (False off Linux)."""
    libc = _libc()
    if libc is None:
        return False
    libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    return not is_dumpable()


def is_dumpable() -> bool:
    libc = _libc()
    return libc is None or libc.prctl(_PR_GET_DUMPABLE, 0, 0, 0, 0) != 0


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_ptrace_capability() -> None:
    """Give up, for good, every capability that reads other processes; harmless if none is held."""
    libc = _libc()
    if libc is None:
        return
    for capability in _TRACING_CAPABILITIES:  # fails without CAP_SETPCAP: then there is nothing to drop
        libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0)
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        return
    for capability in _TRACING_CAPABILITIES:
        word, mask = data[capability // 32], ~(1 << capability % 32) & 0xFFFFFFFF
        word.effective &= mask
        word.permitted &= mask
        word.inheritable &= mask
    libc.capset(ctypes.byref(header), data)


def clean_python_launcher(directory: str | None = None) -> str:
    """Write a launcher that runs this Python with only ``child_environment()``; return its path.

    multiprocessing starts its forkserver with the caller's whole environment; pointed at this
    launcher (``set_executable``), the forkserver and every job child forked from it never hold
    the service's settings, not even in ``/proc/<pid>/environ``.
    """
    assignments = " ".join(f"{name}={shlex.quote(value)}" for name, value in child_environment().items())
    script = f'#!/bin/sh\nexec /usr/bin/env -i {assignments} {shlex.quote(sys.executable)} "$@"\n'
    path = Path(directory or tempfile.mkdtemp(prefix="jobsync-python-")) / "python"
    path.write_text(script)
    path.chmod(stat.S_IRWXU)
    return str(path)

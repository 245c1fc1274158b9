"""Jobs from a directory on the server (``jobs_root``, source ``local``), synced like a repository.

``jobs_root`` holds a ``jobs`` package, as a repository does; it is imported under the ``local``
namespace and versioned by a hash of its files, so runs record the code they ran.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from repos.backends import content_hash
from repos.discover import discover
from service.sources.apply import apply_discovery, describe_plan

LOCAL_NAMESPACE = "local"
logger = logging.getLogger(__name__)


def content_version(root: str | Path) -> str:
    """Return the 40-hex content hash of ``root/jobs``, the local jobs' version."""
    return content_hash(Path(root) / "jobs")


def refresh_local_jobs(current) -> dict[str, Any]:
    """Discover ``jobs_root`` and reconcile the local Job rows; a no-op when it is not configured."""
    root = current.settings.jobs_root
    if not root:
        return {"configured": False}
    version = content_version(root)
    report = discover(LOCAL_NAMESPACE, root, timeout=current.settings.discovery_timeout_seconds)
    if report.package_error:
        logger.error("local jobs in %s failed to import: %s", root, report.package_error)
        return {"configured": True, "version": version, "error": report.package_error}
    with current.db.session() as session:
        plan = apply_discovery(session, report, source="local", namespace=LOCAL_NAMESPACE, version=version)
    return {
        "configured": True,
        "version": version,
        **describe_plan(plan),
        "module_errors": [{"module": e.module_name, "error": e.error} for e in report.module_errors],
    }

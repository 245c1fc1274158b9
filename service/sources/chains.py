"""Refusing chain loops at sync: a module whose jobs' ``on_success_run`` / ``on_failure_run`` would
close a loop (A → B → A), with the jobs already installed from other sources, fails as a module
error; its jobs keep their last good version (service.runs.chains starts the hops at run time)."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from repos.chains import chain_loops
from repos.reconcile import class_path_for
from repos.report import DiscoveryReport, ModuleError
from service.models import Job


def refuse_chain_loops(db, namespace: str, report: DiscoveryReport) -> DiscoveryReport:
    """Return the report with each module that closes a chain loop moved to its module errors."""
    mine = {class_path_for(namespace, job.module_name, job.class_name): job for job in report.jobs}
    edges = {path: _targets(job.spec) for path, job in mine.items() if _targets(job.spec)}
    if not edges:
        return report
    with db.session() as session:
        for row in session.execute(select(Job.class_path, Job.on_success_run, Job.on_failure_run).where(
            Job.installed.is_(True), (Job.on_success_run.is_not(None)) | (Job.on_failure_run.is_not(None))
        )):
            if row.class_path not in mine and not row.class_path.startswith(f"{namespace}/"):
                edges[row.class_path] = [*(row.on_success_run or ()), *(row.on_failure_run or ())]
    refused: dict[str, str] = {}
    for loop in chain_loops(edges, starts=list(mine)):
        for path in loop[:-1]:
            if path in mine:
                refused.setdefault(mine[path].module_name, " → ".join(loop))
    if not refused:
        return report
    return dataclasses.replace(
        report,
        jobs=[job for job in report.jobs if job.module_name not in refused],
        module_errors=[*report.module_errors, *(
            ModuleError(module, f"Run chain loop (on_success_run / on_failure_run): {loop}")
            for module, loop in refused.items()
        )],
    )


def _targets(spec: dict) -> list[str]:
    return [*(spec.get("on_success_run") or ()), *(spec.get("on_failure_run") or ())]

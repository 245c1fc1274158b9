"""What a job's child needs to run it: the pinned checkout and environment, the class, input and limits."""

from __future__ import annotations

from sqlalchemy import Row

from service.extensions import EXTENSIONS_SOURCE, extension_module
from service.infra.transient_input import unpack_files
from service.sources.environments import path_for_checkout, path_for_run
from service.sources.local import LOCAL_NAMESPACE
from service.sources.materialise import ensure_run_checkout
from service.worker.job_process import RunRequest


def build_request(db, settings, run: Row, transient: dict) -> RunRequest:
    """Return the child's request for a claimed run; raises RuntimeError saying why it cannot run."""
    if run.source is None:
        raise RuntimeError("its job record was deleted")
    namespace = checkout = environment = None
    module_name = run.module_name
    if run.source == "git":
        if run.repository_slug is None or not run.commit:
            raise RuntimeError("its repository was removed")
        checkout = str(ensure_run_checkout(db, settings, run.repository_id, run.repository_slug, run.commit))
        namespace = run.repository_slug
        if run.environment_key:  # built here first if this machine lacks it
            environment = path_for_run(db, settings, run.environment_key)
        else:  # a run pinned by choice to another commit: that commit's own declaration, if any
            environment = path_for_checkout(db, settings, checkout)
    elif run.source == "local":
        if not settings.jobs_root:
            raise RuntimeError("jobs_root is not configured on this worker")
        namespace, checkout = LOCAL_NAMESPACE, settings.jobs_root
    elif run.source == EXTENSIONS_SOURCE:
        module_name = extension_module(run.module_name)  # "<name>.jobs" -> "<package>.jobs"
    user = {"id": str(run.user_id), "username": run.username} if run.username is not None else None
    return RunRequest(
        job_result_id=str(run.id),
        module_name=module_name,
        class_name=run.job_class_name,
        data=transient.get("data") or dict(run.input_data or {}),
        files=unpack_files(transient),
        dryrun=run.dryrun,
        namespace=namespace,
        checkout=checkout,
        commit=run.commit,
        user=user,
        soft_time_limit=run.soft_time_limit,
        sanitiser_patterns=settings.sanitiser_patterns,
        max_file_bytes=settings.output_file_max_bytes,
        sensitive=bool(run.has_sensitive_variables),
        environment=environment,
    )

"""Registering job repositories: add, update, remove, look up. Syncing lives in ``service.sources.sync``."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from repos import git as repo_git
from repos.backends import BackendContext, UnknownBackend, backend_class
from repos.credentials import (
    resolve_named_credentials,
    validate_credential_name,
    validate_credentials_reference,
)
from repos.naming import slugify, validate_slug
from repos.remotes import validate_ref, validate_remote_url
from service.errors import NotFound, ValidationError
from service.infra.many import matching
from service.jobs.backends import DataBackend
from service.models import GitRepository, Job, JobButton, JobHook, ScheduledJob

EDITABLE_FIELDS = ("name", "remote_url", "branch", "credentials", "webhook_secret", "provided_contents")


def open_backend(repository: GitRepository, settings, *, timeout: float | None = None) -> DataBackend:
    """Build the repository's data backend (git commands time out after ``timeout``, by default
    ``git_timeout_seconds``); raises UnknownBackend, ValidationError or CredentialsUnavailable or
    CredentialNotPinned (all RepositoryError or ValidationError, never with a secret)."""
    backend = backend_class(repository.backend)
    if repository.backend == "git":
        parameters = {"remote_url": repository.remote_url, "branch": repository.branch}
    else:
        parameters = dict(repository.backend_parameters or {})
    context = BackendContext(
        workdir=repo_git.repository_dir(settings.data_dir, repository.slug),
        slug=repository.slug,
        data_dir=Path(settings.data_dir),
        allow_local=settings.allow_local_repositories,
        timeout=timeout or settings.git_timeout_seconds,
        credentials=resolve_named_credentials(repository.credentials, settings.credentials,
                                              repository.remote_url),
    )
    return backend(parameters, context)


def get_repository(session: Session, ref: str | uuid.UUID) -> GitRepository:
    """Find a repository by id, slug or name; raises NotFound."""
    try:
        repository = session.get(GitRepository, uuid.UUID(str(ref)))
    except ValueError:
        repository = session.scalar(
            select(GitRepository).where((GitRepository.slug == str(ref)) | (GitRepository.name == str(ref)))
        )
    if repository is None:
        raise NotFound(f"No repository {ref}.")
    return repository


def _validated(session: Session, settings, values: dict, *, current: GitRepository | None = None) -> dict:
    """Check every field given, collecting all problems; raises ValidationError naming each field."""
    errors: dict[str, list[str]] = {}

    def check(field: str, validate) -> None:
        if field in values:
            try:
                values[field] = validate(values[field])
            except ValidationError as exc:
                errors.setdefault(field, []).extend(msg for msgs in exc.fields.values() for msg in msgs)

    if "name" in values:
        name = (values["name"] or "").strip()
        values["name"] = name
        if not name:
            errors["name"] = ["This field may not be blank."]
        elif session.scalar(
            select(GitRepository.id).where(
                GitRepository.name == name, GitRepository.id != getattr(current, "id", None)
            )
        ):
            errors["name"] = [f"A repository named {name!r} already exists."]
    check("remote_url", lambda url: validate_remote_url(url, allow_local=settings.allow_local_repositories))
    check("branch", validate_ref)
    if "credentials" in values or ("remote_url" in values and getattr(current, "credentials", None)):
        # A credential must stay pinned to the remote's host, whichever of the two changes.
        remote = values.get("remote_url", getattr(current, "remote_url", None))
        values.setdefault("credentials", getattr(current, "credentials", None))
        check("credentials", lambda name: validate_credential_name(name, settings.credentials, remote))
    check("webhook_secret", validate_credentials_reference)
    if "provided_contents" in values and not set(values["provided_contents"] or []) <= {"jobs"}:
        errors["provided_contents"] = ['Only "jobs" can be provided.']
    if errors:
        raise ValidationError(errors)
    return values


def add_repository(
    session: Session,
    settings,
    *,
    name: str,
    remote_url: str | None = None,
    branch: str = "main",
    credentials: str | None = None,
    webhook_secret: str | None = None,
    slug: str | None = None,
    provided_contents: list[str] | None = None,
    backend: str = "git",
    backend_parameters: dict | None = None,
) -> GitRepository:
    """Register a repository (not yet synced); raises ValidationError naming each bad field.

    Git repositories take ``remote_url`` and ``branch``; other backends take their own
    ``backend_parameters`` (validated by the backend) and show a description as the remote.
    """
    values = {
        "name": name,
        "credentials": credentials or None,
        "webhook_secret": webhook_secret or None,
        "provided_contents": provided_contents or ["jobs"],
    }
    if backend == "git":
        values.update(remote_url=remote_url or "", branch=branch or "main")
        values = _validated(session, settings, values)
        parameters: dict = {}
    else:
        parameters = _backend_parameters(backend, backend_parameters)
        values = _validated(session, settings, values)
        values.update(remote_url=remote_url or f"{backend}:{next(iter(parameters.values()), '')}", branch="")
    slug = slug or slugify(values["name"])
    try:
        validate_slug(slug)
    except ValidationError as exc:
        raise ValidationError({"slug": [m for msgs in exc.fields.values() for m in msgs]}) from None
    if session.scalar(select(GitRepository.id).where(GitRepository.slug == slug)):
        raise ValidationError({"slug": [f"A repository with slug {slug!r} already exists."]})
    repository = GitRepository(slug=slug, backend=backend, backend_parameters=parameters, **values)
    session.add(repository)
    session.flush()
    return repository


def _backend_parameters(backend: str, parameters: dict | None) -> dict:
    try:
        return backend_class(backend).validate_parameters(parameters)
    except UnknownBackend as exc:
        raise ValidationError({"backend": [str(exc)]}) from None
    except ValidationError as exc:
        raise ValidationError({f"backend_parameters.{k}": v for k, v in exc.fields.items()}) from None


def update_repository(session: Session, settings, repository: GitRepository, **changes) -> GitRepository:
    """Change editable fields; the slug is the jobs' module namespace and never changes."""
    if "slug" in changes and changes.pop("slug") != repository.slug:
        raise ValidationError({"slug": ["The slug cannot be changed."]})
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in unknown})
    for field, value in _validated(session, settings, dict(changes), current=repository).items():
        setattr(repository, field, value)
    session.flush()
    return repository


def uninstall_jobs(session: Session, job_ids: list[uuid.UUID], reason: str) -> None:
    """Mark jobs uninstalled and disable what points at them (rows kept, history intact)."""
    for clause in matching(session, Job.id, job_ids):
        # "fetch" matches the session's loaded jobs by key; the default evaluates the IN list against
        # every loaded job, which made removing half of a 10,000-job repository take minutes.
        session.execute(update(Job).where(clause).values(installed=False)
                        .execution_options(synchronize_session="fetch"))
    for clause in matching(session, JobHook.job_id, job_ids):
        session.execute(update(JobHook).where(clause).values(enabled=False))
    for clause in matching(session, JobButton.job_id, job_ids):
        session.execute(update(JobButton).where(clause).values(enabled=False))
    for clause in matching(session, ScheduledJob.job_id, job_ids):
        session.execute(update(ScheduledJob).where(clause).values(enabled=False, disabled_reason=reason))


def remove_repository(session: Session, settings, repository: GitRepository) -> None:
    """Delete the repository: its jobs become uninstalled and its mirror and checkouts go."""
    job_ids = list(session.scalars(select(Job.id).where(Job.repository_id == repository.id)))
    uninstall_jobs(session, job_ids, f"Repository {repository.name} was removed.")
    slug = repository.slug
    session.delete(repository)
    session.flush()
    repo_git.remove_repository_files(settings.data_dir, slug)

"""``/api/extras/git-repositories/``: register job repositories and sync them.

Syncing an existing repository needs ``sync_repository``. Registering one, or changing or removing
it, needs ``manage_repository``: a repository's code runs on the workers. Credentials are names of
credentials configured by an admin (each pinned to hosts); webhook secrets are references
(``env:NAME``, ``file:/path``). The secrets themselves never pass through the API.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from sqlalchemy import or_, select

from service.api.base import Blueprint, commit, db_session, get_or_404
from service.api.fields import ModelSchema, ObjectUrl, multi, object_type
from service.api.pagination import MAX_SEARCH_LENGTH, PageQuery, page_of, paginate
from service.api.results import JobResultSchema
from service.models import GitRepository, User
from service.sources.repositories import add_repository, remove_repository, update_repository
from service.sources.sync import request_sync
from service.sources.sync_all import request_sync_all
from service.web.app_runtime import current_runtime
from service.web.auth import current_principal, require

bp = Blueprint("git-repositories", __name__, url_prefix="/api/extras/git-repositories",
               description="Git repositories of jobs: register, change, remove, sync.")

REFERENCE_DOC = {"description": "A reference such as env:NAME or file:/path, never the secret itself."}
CREDENTIAL_DOC = {"description": "The name of a credential configured under `credentials:` and pinned to "
                                 "the remote's host, never the secret itself."}
MANAGE = "manage_repository"  # registers, changes and removes repositories: runs repository code


class GitRepositorySchema(ModelSchema):
    object_type = object_type("GitRepository")
    url = ObjectUrl("GitRepository")
    name = fields.String()
    slug = fields.String()
    remote_url = fields.String()
    branch = fields.String()
    credentials = fields.String(allow_none=True, metadata=CREDENTIAL_DOC)
    webhook_secret = fields.String(allow_none=True, metadata=REFERENCE_DOC)
    provided_contents = fields.List(fields.String())
    backend = fields.String()
    current_head = fields.String(allow_none=True)
    sync_status = fields.String(allow_none=True)
    sync_time = fields.DateTime(allow_none=True)
    sync_error = fields.String(allow_none=True)
    created = fields.DateTime()
    last_updated = fields.DateTime()


class GitRepositoryInputSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    remote_url = fields.String(required=True, validate=validate.Length(min=1, max=500))
    branch = fields.String(validate=validate.Length(min=1, max=200))
    slug = fields.String(validate=validate.Length(min=1, max=100))
    credentials = fields.String(allow_none=True, validate=validate.Length(max=300), metadata=CREDENTIAL_DOC)
    webhook_secret = fields.String(allow_none=True, validate=validate.Length(max=300), metadata=REFERENCE_DOC)
    provided_contents = fields.List(fields.String())


class GitRepositoryPatchSchema(GitRepositoryInputSchema):
    """The same fields, each optional (PATCH); the slug cannot change."""


class GitRepositoryFilter(PageQuery):
    name = multi(fields.String())
    slug = multi(fields.String())
    q = fields.String(validate=validate.Length(max=MAX_SEARCH_LENGTH),
                      metadata={"description": "Search names and remote URLs."})


class SyncResponseSchema(ma.Schema):
    message = fields.String()
    job_result = fields.Nested(JobResultSchema)


class SyncAllResponseSchema(ma.Schema):
    message = fields.String()
    job_results = fields.List(fields.Nested(JobResultSchema))


def filter_repositories(args: dict[str, Any]):
    statement = select(GitRepository).order_by(GitRepository.name)
    if args.get("name"):
        statement = statement.where(GitRepository.name.in_(args["name"]))
    if args.get("slug"):
        statement = statement.where(GitRepository.slug.in_(args["slug"]))
    if args.get("q"):
        statement = statement.where(or_(GitRepository.name.icontains(args["q"], autoescape=True),
                                        GitRepository.remote_url.icontains(args["q"], autoescape=True)))
    return statement


def _settings():
    return current_runtime().settings


def _caller(session) -> User:
    return session.get(User, current_principal().user_id)


@bp.get("/")
@bp.arguments(GitRepositoryFilter, location="query", as_kwargs=False)
@bp.response(200, page_of(GitRepositorySchema))
def list_repositories(args):
    """List repositories and their sync state."""
    return paginate(db_session(), filter_repositories(args), args)


@bp.post("/")
@bp.arguments(GitRepositoryInputSchema)
@bp.response(201, GitRepositorySchema)
def create_repository(values):
    """Register a repository (sync it with ``/sync/``); needs manage_repository."""
    require(current_principal(), MANAGE)
    session = db_session()
    repository = add_repository(session, _settings(), **values)
    commit(session, unique_field="name")
    return repository


@bp.get("/<uuid:repository_id>/")
@bp.response(200, GitRepositorySchema)
def retrieve_repository(repository_id):
    """Show one repository."""
    return get_or_404(db_session(), GitRepository, repository_id)


@bp.patch("/<uuid:repository_id>/")
@bp.arguments(GitRepositoryPatchSchema(partial=True))
@bp.response(200, GitRepositorySchema)
def change_repository(values, repository_id):
    """Change a repository's name, remote, branch, references or contents; needs manage_repository."""
    require(current_principal(), MANAGE)
    session = db_session()
    repository = update_repository(session, _settings(), get_or_404(session, GitRepository, repository_id),
                                   **values)
    commit(session, unique_field="name")
    return repository


@bp.delete("/<uuid:repository_id>/")
@bp.response(204)
def delete_repository(repository_id):
    """Remove a repository (jobs uninstalled, checkouts deleted); needs manage_repository."""
    require(current_principal(), MANAGE)
    session = db_session()
    remove_repository(session, _settings(), get_or_404(session, GitRepository, repository_id))
    session.commit()


@bp.post("/<uuid:repository_id>/sync/")
@bp.response(200, SyncResponseSchema)
def sync_repository(repository_id):
    """Queue a sync (one already waiting for this repository absorbs the request)."""
    session = db_session()
    repository = get_or_404(session, GitRepository, repository_id)
    result = request_sync(session, repository, user=_caller(session))
    session.commit()  # the sync's message leaves on commit
    return {"message": f"Repository {repository.name} sync job added to queue.", "job_result": result}


@bp.post("/sync-all/")
@bp.response(200, SyncAllResponseSchema)
def sync_all_repositories():
    """Queue a sync of every repository."""
    session = db_session()
    results = request_sync_all(session, user=_caller(session))
    session.commit()  # one transaction; the syncs' messages leave together on commit
    return {"message": f"{len(results)} repository sync jobs added to queue.", "job_results": results}

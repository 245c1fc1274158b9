"""Repositories: register, edit and remove them, sync them, and read each sync's diff."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from service.errors import ValidationError
from service.jobs.runner import runner_path
from service.models import GitRepository, Job, JobResult
from service.sources.repositories import add_repository, get_repository, remove_repository, update_repository
from service.sources.sync import SyncRepository, request_sync
from service.ui.base import bp, db, require, runtime
from service.ui.formatting import display_remote
from service.ui.paging import paginate

FORM_FIELDS = ("name", "remote_url", "branch", "credentials", "webhook_secret")
#: Registering, changing and removing repositories needs what the REST API asks for (its policy).
MANAGE = "manage_repository"  # registers and changes repositories: decides what code the workers run
#: How each git host is told to call the webhook: (provider, where, what to set).
PROVIDER_HINTS = (
    ("GitHub", "Settings → Webhooks → Add webhook",
     "Payload URL as above, content type application/json, the secret, event: just the push event."),
    ("GitLab", "Settings → Webhooks", "URL as above, the secret as Secret token, trigger: Push events."),
    ("Gitea / Forgejo", "Settings → Webhooks → Add webhook → Gitea",
     "Target URL as above, POST, application/json, the secret, trigger on push events."),
    ("Bitbucket Cloud / Data Center", "Repository settings → Webhooks",
     "URL as above, the secret, trigger: Repository push (Data Center: Repository → Push)."),
    ("Anything else", "a CI step or script",
     'POST {"ref", "after"} as JSON with X-Jobsync-Signature: sha256=<HMAC-SHA256 of the body>.'),
)


def sync_history_statement(repository: GitRepository):
    return (select(JobResult)
            .where(JobResult.runner == runner_path(SyncRepository),
                   JobResult.object_type == GitRepository.__tablename__,
                   JobResult.object_id == str(repository.id))
            .order_by(JobResult.created.desc(), JobResult.id.desc()))


@bp.get("/repositories/")
def repositories_list():
    session = db()
    repositories = session.scalars(select(GitRepository).order_by(GitRepository.name)).all()
    job_counts: dict[uuid.UUID, int] = {}
    for repository_id in session.scalars(select(Job.repository_id).where(Job.installed.is_(True))):
        job_counts[repository_id] = job_counts.get(repository_id, 0) + 1
    return render_template("repositories/list.html", repositories=repositories, job_counts=job_counts)


@bp.get("/repositories/<slug>/")
def repository_detail(slug: str):
    session = db()
    repository = get_repository(session, slug)
    history = paginate(session, sync_history_statement(repository), per_page=20)
    jobs = session.scalars(select(Job).where(Job.repository_id == repository.id)
                           .order_by(Job.grouping, Job.name)).all()
    webhook_url = url_for("ui.index", _external=True).rstrip("/") + f"/webhooks/git/{repository.slug}"
    return render_template("repositories/detail.html", repository=repository, history=history, jobs=jobs,
                           webhook_url=webhook_url, hints=PROVIDER_HINTS)


def _form_values() -> dict[str, str]:
    return {name: request.form.get(name, "").strip() for name in (*FORM_FIELDS, "slug")}


def _refused(repository: GitRepository | None, values: dict[str, str], errors: dict[str, list[str]]):
    """The form again with its errors; a password typed into the remote, or a secret typed where
    a reference (env:NAME) belongs, is not sent back."""
    shown = {**values, "remote_url": display_remote(values.get("remote_url"))}
    shown.update({name: "" for name in ("credentials", "webhook_secret") if name in errors})
    return render_template("repositories/form.html", repository=repository, values=shown, errors=errors), 400


@bp.route("/repositories/add", methods=["GET", "POST"])
def repository_add():
    require(MANAGE)
    if request.method == "GET":
        return render_template("repositories/form.html", repository=None, values={"branch": "main"},
                               errors={})
    session = db()
    values = _form_values()
    try:
        repository = add_repository(session, runtime().settings, name=values["name"],
                                    remote_url=values["remote_url"], branch=values["branch"] or "main",
                                    credentials=values["credentials"] or None,
                                    webhook_secret=values["webhook_secret"] or None,
                                    slug=values["slug"] or None)
    except ValidationError as exc:
        session.rollback()
        return _refused(None, values, exc.fields)
    session.commit()
    flash(f"Added {repository.name}. Sync it to load its jobs.", "success")
    return redirect(url_for("ui.repository_detail", slug=repository.slug), 303)


@bp.route("/repositories/<slug>/edit", methods=["GET", "POST"])
def repository_edit(slug: str):
    require(MANAGE)
    session = db()
    repository = get_repository(session, slug)
    if request.method == "GET":
        values = {name: getattr(repository, name) or "" for name in FORM_FIELDS}
        return render_template("repositories/form.html", repository=repository, values=values, errors={})
    values = _form_values()
    changes = {name: values[name] or None for name in FORM_FIELDS}
    changes["branch"] = values["branch"] or "main"
    try:
        update_repository(session, runtime().settings, repository, **changes)
    except ValidationError as exc:
        session.rollback()
        return _refused(repository, values, exc.fields)
    session.commit()
    flash(f"Saved {repository.name}.", "success")
    return redirect(url_for("ui.repository_detail", slug=repository.slug), 303)


@bp.post("/repositories/<slug>/delete")
def repository_delete(slug: str):
    require(MANAGE)
    session = db()
    repository = get_repository(session, slug)
    name = repository.name
    remove_repository(session, runtime().settings, repository)
    session.commit()
    flash(f"Removed {name}; its jobs are uninstalled.", "success")
    return redirect(url_for("ui.repositories_list"), 303)


@bp.post("/repositories/<slug>/sync")
def repository_sync(slug: str):
    user = require("sync_repository")
    session = db()
    repository = get_repository(session, slug)
    dryrun = request.form.get("dryrun") is not None
    result = request_sync(session, repository, dryrun=dryrun, user=user)
    session.commit()
    flash("Dry-run sync requested." if dryrun else "Sync requested.", "info")
    return redirect(url_for("ui.result_detail", result_id=result.id), 303)

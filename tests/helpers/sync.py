from sqlalchemy import select

from service.models import GitRepository, Job


def jobs_by_path(runtime):
    with runtime.db.session() as session:
        return {job.class_path: job for job in session.scalars(select(Job))}


def repository_row(runtime, repository_id):
    with runtime.db.session() as session:
        return session.get(GitRepository, repository_id)

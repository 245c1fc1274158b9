"""Extension fixtures: every runtime here loads the sample extension (examples/acme_extension)."""

from __future__ import annotations

import pytest

from service.sources.extension_jobs import refresh_extension_jobs
from tests.helpers.extensions import ACME


@pytest.fixture
def settings(settings):
    """The root settings plus the sample extension."""
    return settings.replace(extensions=(ACME,))


@pytest.fixture
def extension_dir(tmp_path, monkeypatch):
    """A directory on sys.path for throwaway extension packages."""
    directory = tmp_path / "extensions"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    return directory


@pytest.fixture
def acme_jobs(runtime):
    """Reconcile the sample extension's jobs; return their ids by class name (all enabled)."""
    from sqlalchemy import select

    from service.models import Job

    refresh_extension_jobs(runtime)
    with runtime.db.session() as session:
        jobs = session.scalars(select(Job).where(Job.source == "extensions")).all()
        for job in jobs:
            job.enabled = True
        return {job.job_class_name: job.id for job in jobs}

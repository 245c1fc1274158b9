"""Nautobot's and Celery's import paths in processes that run repository code."""

import subprocess
import sys

SCRIPT = """
import sys
from repos import import_aliases
{before}
from nautobot.apps.jobs import BaseJob, Job, RunJobTaskFailed, ScriptVariable, is_job, is_variable, StringVar
from nautobot.extras.jobs import Job as Job1, get_task_logger
from nautobot.core.celery import register_jobs
from celery.utils.log import get_task_logger as celery_get_task_logger
import service.jobs
assert Job is Job1 is service.jobs.Job and BaseJob is Job
assert register_jobs is service.jobs.register_jobs and celery_get_task_logger is get_task_logger
assert is_variable(StringVar()) and ScriptVariable is service.jobs.Variable
class Mine(Job):
    def run(self):
        return None
assert is_job(Mine) and not is_job(Job) and not is_job(service.jobs.JobHookReceiver)
assert issubclass(RunJobTaskFailed, Exception)
for name in ("nautobot.dcim.models", "nautobot.extras.models.jobs", "nautobot.dcim.choices"):
    try:
        __import__(name)
    except ImportError as exc:
        print(exc)
"""


def run_script(before: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT.format(before=before)], capture_output=True, text=True, timeout=60
    )


def test_repository_code_imports_nautobots_paths_and_models_fail_by_name():
    done = run_script("import_aliases.install()")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "needs Nautobot's database: nautobot.dcim.models",
        "needs Nautobot's database: nautobot.extras.models",
        "needs Nautobot itself: nautobot.dcim.choices (jobsync provides only celery.utils.log, "
        "nautobot.apps.jobs, nautobot.core.celery, nautobot.extras.jobs)",
    ]


def test_the_aliases_exist_only_where_repository_code_is_loaded():
    done = run_script("")  # the service's own processes never install them
    assert done.returncode != 0 and "No module named 'nautobot'" in done.stderr


def test_loading_a_checkout_installs_the_aliases(tmp_path):
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "__init__.py").write_text("from nautobot.apps.jobs import Job\n")
    done = subprocess.run(
        [sys.executable, "-c",
         f"from repos.loader import import_jobs_package; import_jobs_package('demo', {str(tmp_path)!r})"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr

import sys

import pytest

from repos.discover import child_environment, discover
from repos.errors import DiscoveryCrashed, DiscoveryTimedOut
from repos.git import GitSettings, ensure_checkout, fetch
from tests.helpers import git as gitfixtures
from tests.helpers import job_sources as samples
from tests.helpers.job_sources import job_module


def make_checkout(tmp_path, files):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    gitfixtures.write_files(checkout, files)
    return checkout


def job_names(report):
    return sorted(f"{job.module_name}.{job.class_name}" for job in report.jobs)


def test_discovery_finds_jobs_registered_by_several_modules(tmp_path):
    report = discover("demo", make_checkout(tmp_path, samples.SELF_REGISTERING))
    assert job_names(report) == ["demo.jobs.hello.Hello", "demo.jobs.world.World"]
    assert report.module_errors == [] and report.package_error is None
    hello = next(job for job in report.jobs if job.class_name == "Hello")
    assert hello.spec["name"] == "Hello"
    assert [variable["name"] for variable in hello.spec["variables"]] == ["who"]


def test_a_grouping_set_after_the_module_registers_its_jobs_is_the_one_reported(tmp_path):
    files = {
        "jobs/__init__.py": "from . import hello, world\n",
        "jobs/hello.py": job_module("Hello") + "name = 'Set late'\n",
        "jobs/world.py": job_module("World"),
    }
    report = discover("demo", make_checkout(tmp_path, files))
    groupings = {job.class_name: job.spec["grouping"] for job in report.jobs}
    assert groupings == {"Hello": "Set late", "World": "world"}


def test_each_discovered_spec_is_the_classes_whole_spec(tmp_path):
    report = discover("demo", make_checkout(tmp_path, samples.SELF_REGISTERING))
    hello = next(job for job in report.jobs if job.class_name == "Hello")
    assert hello.spec["retry_backoff"] == {"base": 10.0, "factor": 2.0, "max": 3600.0, "jitter": 0.1}
    assert hello.spec["variables"][0]["default"] is None and hello.spec["supports_dryrun"] is False
    assert hello.spec["field_order"] == [] and hello.spec["on_success_run"] == []


def test_discovery_finds_jobs_registered_by_the_package_init_including_subpackages(tmp_path):
    report = discover("demo", make_checkout(tmp_path, samples.REGISTERED_BY_INIT))
    assert job_names(report) == ["demo.jobs.hello.Hello", "demo.jobs.nested.deep.Deep"]


def test_discovery_never_imports_repository_code_in_the_calling_process(tmp_path):
    discover("never_here", make_checkout(tmp_path, samples.SELF_REGISTERING))
    assert not [name for name in sys.modules if name.startswith("never_here")]


def test_discovery_of_a_real_read_only_checkout_writes_no_bytecode(tmp_path):
    work, bare = gitfixtures.make_remote(tmp_path, samples.SELF_REGISTERING)
    data_dir = tmp_path / "data"
    sha = fetch(data_dir, "demo", str(bare), "main", settings=GitSettings(allow_local=True))
    checkout = ensure_checkout(data_dir, "demo", sha)
    assert job_names(discover("demo", checkout)) == ["demo.jobs.hello.Hello", "demo.jobs.world.World"]
    assert list(checkout.rglob("__pycache__")) == []


def test_a_syntax_error_in_one_module_costs_only_its_own_jobs(tmp_path):
    files = {
        "jobs/__init__.py": "",
        "jobs/hello.py": job_module("Hello"),
        "jobs/broken.py": "def oops(:\n",
        "jobs/world.py": job_module("World"),
    }
    files["jobs/__init__.py"] = "from . import broken, hello, world\n"
    report = discover("demo", make_checkout(tmp_path, files))
    assert job_names(report) == ["demo.jobs.hello.Hello", "demo.jobs.world.World"]
    errors = {error.module_name: error for error in report.module_errors}
    assert set(errors) == {"demo.jobs", "demo.jobs.broken"}
    assert errors["demo.jobs.broken"].error.startswith("SyntaxError")
    assert "broken.py" in errors["demo.jobs.broken"].traceback
    assert "demo.jobs.broken" in errors["demo.jobs"].error
    assert report.package_error is None
    assert report.failed_modules == {"demo.jobs", "demo.jobs.broken"}


def test_init_importing_a_submodule_that_raises_falls_back_to_module_by_module(tmp_path):
    files = {
        "jobs/__init__.py": "from . import alpha, failing, omega\n",
        "jobs/alpha.py": job_module("Alpha"),
        "jobs/failing.py": job_module("Failing", extra="raise RuntimeError('database not reachable')"),
        "jobs/omega.py": job_module("Omega"),
    }
    report = discover("demo", make_checkout(tmp_path, files))
    assert job_names(report) == ["demo.jobs.alpha.Alpha", "demo.jobs.omega.Omega"]
    failing = next(error for error in report.module_errors if error.module_name == "demo.jobs.failing")
    assert failing.error == "RuntimeError: database not reachable"
    assert "failing.py" in failing.traceback


def test_a_module_importing_a_broken_sibling_reports_its_own_failure(tmp_path):
    files = {
        "jobs/__init__.py": "from . import broken, user, healthy\n",
        "jobs/broken.py": "raise ValueError('bad config')\n",
        "jobs/user.py": "from . import broken\n" + job_module("User"),
        "jobs/healthy.py": job_module("Healthy"),
    }
    report = discover("demo", make_checkout(tmp_path, files))
    assert job_names(report) == ["demo.jobs.healthy.Healthy"]
    assert {error.module_name for error in report.module_errors} == {
        "demo.jobs",
        "demo.jobs.broken",
        "demo.jobs.user",
    }


def test_an_error_in_the_package_init_itself_is_a_package_error(tmp_path):
    files = {
        "jobs/__init__.py": "from . import hello\nraise KeyError('missing setting')\n",
        "jobs/hello.py": job_module("Hello"),
    }
    report = discover("demo", make_checkout(tmp_path, files))
    assert report.jobs == []
    assert report.package_error == "jobs/__init__.py failed: KeyError: 'missing setting'"
    assert "__init__.py" in report.package_traceback
    assert report.failed_modules == {"demo.jobs"}


def test_an_init_that_does_not_compile_is_a_package_error(tmp_path):
    report = discover("demo", make_checkout(tmp_path, {"jobs/__init__.py": "import (\n"}))
    assert report.package_error.startswith("jobs/__init__.py does not compile: SyntaxError")


def test_a_repository_without_a_jobs_package_is_a_package_error(tmp_path):
    report = discover("demo", make_checkout(tmp_path, {"README.md": "no jobs here\n", "jobs/hello.py": ""}))
    assert report.jobs == []
    assert "no jobs package" in report.package_error


def test_repository_output_does_not_corrupt_the_report(tmp_path):
    files = {"jobs/__init__.py": "print('{not json')\nimport sys\nprint('noise', file=sys.stderr)\n"}
    report = discover("demo", make_checkout(tmp_path, files))
    assert report.jobs == [] and report.package_error is None


def test_the_child_gets_no_jobsync_settings_or_git_credentials(tmp_path, monkeypatch):
    monkeypatch.setenv("JOBSYNC_SECRET_KEY", "s3cret")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "Authorization: Basic abc")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_x")
    files = {
        "jobs/__init__.py": (
            "import os\n"
            "leaked = sorted(k for k in os.environ if k.startswith(('JOBSYNC', 'GIT')))\n"
            "if leaked:\n"
            "    raise RuntimeError(leaked)\n"
        )
    }
    assert discover("demo", make_checkout(tmp_path, files)).package_error is None
    assert not [name for name in child_environment() if name.startswith(("JOBSYNC", "GIT"))]


def test_a_module_that_hangs_times_out_naming_the_module(tmp_path):
    files = {
        "jobs/__init__.py": "from . import quick, slow\n",
        "jobs/quick.py": job_module("Quick"),
        "jobs/slow.py": "import threading\nthreading.Event().wait()\n",
    }
    with pytest.raises(DiscoveryTimedOut) as caught:
        discover("demo", make_checkout(tmp_path, files), timeout=2)
    assert caught.value.module_name == "demo.jobs.slow"
    assert "demo.jobs.slow" in str(caught.value) and "2 s" in str(caught.value)


def test_a_module_calling_os_exit_is_reported_as_a_crash(tmp_path):
    files = {
        "jobs/__init__.py": "from . import quitter\n",
        "jobs/quitter.py": "import os\nos._exit(3)\n",
    }
    with pytest.raises(DiscoveryCrashed) as caught:
        discover("demo", make_checkout(tmp_path, files))
    assert caught.value.returncode == 3
    assert caught.value.module_name == "demo.jobs.quitter"


def test_a_module_exiting_cleanly_with_os_exit_zero_is_still_a_crash(tmp_path):
    files = {"jobs/__init__.py": "import os\nos._exit(0)\n"}
    with pytest.raises(DiscoveryCrashed, match="exit status 0"):
        discover("demo", make_checkout(tmp_path, files))


def test_a_segfault_is_reported_as_a_crash_by_signal(tmp_path):
    files = {"jobs/__init__.py": "import ctypes\nctypes.string_at(0)\n"}
    with pytest.raises(DiscoveryCrashed, match="SIGSEGV") as caught:
        discover("demo", make_checkout(tmp_path, files))
    assert caught.value.module_name == "demo.jobs"


def test_sys_exit_in_a_module_is_a_module_error_not_a_crash(tmp_path):
    files = {
        "jobs/__init__.py": "from . import leaving, staying\n",
        "jobs/leaving.py": "import sys\nsys.exit(2)\n",
        "jobs/staying.py": job_module("Staying"),
    }
    report = discover("demo", make_checkout(tmp_path, files))
    assert job_names(report) == ["demo.jobs.staying.Staying"]
    assert "SystemExit" in {e.module_name: e for e in report.module_errors}["demo.jobs.leaving"].error


def test_discovery_code_cannot_read_the_non_dumpable_services_environment(tmp_path):
    """A jobs package reading /proc/<parent>/environ at import time finds nothing, even as root."""
    import json
    import os
    import subprocess

    files = {
        "jobs/__init__.py": (
            "import os\n"
            "try:\n"
            "    seen = open(f'/proc/{os.getppid()}/environ', 'rb').read()\n"
            "except OSError:\n"
            "    seen = b''\n"
            "if b's3cret-session-key' in seen or 'JOBSYNC_SECRET_KEY' in os.environ:\n"
            "    raise RuntimeError('leaked')\n"
        )
    }
    checkout = make_checkout(tmp_path, files)
    worker = (
        "import json, sys\n"
        "from repos.process_guard import make_non_dumpable\n"
        "from repos.discover import discover\n"
        "make_non_dumpable()\n"
        f"print(json.dumps(discover('demo', {str(checkout)!r}).package_error))\n"
    )
    env = {**os.environ, "JOBSYNC_SECRET_KEY": "s3cret-session-key"}
    finished = subprocess.run([sys.executable, "-c", worker], env=env, capture_output=True, text=True,
                              timeout=120, cwd=os.getcwd())
    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout) is None


def test_a_grandchild_keeping_the_childs_output_open_does_not_hold_discovery_up(tmp_path):
    """The child's output goes to files, not pipes: discovery ends when the child does."""
    import os
    import signal

    pid_file = tmp_path / "grandchild.pid"
    files = {
        "jobs/__init__.py": (
            "import subprocess, sys\n"
            "grandchild = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'],\n"
            "                              start_new_session=True)\n"
            f"open({str(pid_file)!r}, 'w').write(str(grandchild.pid))\n"
            "from . import hello\n"
        ),
        "jobs/hello.py": job_module("Hello"),
    }
    try:
        report = discover("demo", make_checkout(tmp_path, files), timeout=30)
        assert job_names(report) == ["demo.jobs.hello.Hello"]
    finally:
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_the_discovery_child_leaves_out_imports_few_jobs_need():
    """Every sync starts a child: netaddr, yaml and the environment tooling (tomllib) are imported
    only by the jobs, variables or environments that use them (sync-all of 100 repositories)."""
    import subprocess

    probe = (
        "import sys, repos.discover_child\n"
        "print(sorted(m for m in ('netaddr', 'yaml', 'tomllib', 'repos.environments') if m in sys.modules))\n"
    )
    finished = subprocess.run([sys.executable, "-I", "-B", "-c", probe], capture_output=True, text=True,
                              timeout=60, cwd="/")
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "[]"

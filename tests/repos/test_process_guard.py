"""The service's processes are non-dumpable and children start from the allow-list
(tests for repos.process_guard)."""

import os
import subprocess
import sys

from repos.process_guard import child_environment


def test_every_process_the_assembler_configures_is_non_dumpable(tmp_path):
    script = (
        "from repos.process_guard import is_dumpable\n"
        "from service import bootstrap\n"
        "assert is_dumpable()\n"
        f"bootstrap.configure(data_dir={str(tmp_path)!r})\n"
        "print(is_dumpable())\n"
    )
    env = {name: value for name, value in os.environ.items() if not name.startswith("JOBSYNC_")}
    finished = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                              timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "False"


def test_the_child_environment_holds_no_settings_credentials_or_database_url(monkeypatch):
    for name in ("JOBSYNC_SECRET_KEY", "JOBSYNC_DATABASE_URL", "GIT_TOKEN", "DATABASE_URL",
                 "GIT_CONFIG_VALUE_0", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "secret")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert set(child_environment()) <= {"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR"}
    assert child_environment()["PATH"] == "/usr/bin:/bin"

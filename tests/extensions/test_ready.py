"""``ready()`` runs once in every jobsync process: web (serve), worker and scheduler."""

import pytest

from service.bootstrap import configure
from service.infra.presence import live_workers
from tests.helpers.extensions import cli_environment, start_jobsync, stop_all, unique_package, write_extension
from tests.helpers.servers import wait_until


@pytest.mark.redis
def test_ready_runs_once_in_each_process_serve_worker_and_scheduler(redis_settings, cli_env, tmp_path):
    root, log = tmp_path / "extensions", tmp_path / "ready.log"
    root.mkdir()
    package = write_extension(root, unique_package(), name="counted", settings={"log": ""},
                              ready="open(self.settings['log'], 'a').write(f'{os.getpid()}\\n')")
    env = cli_environment(cli_env, path=root, extensions=f"[{package}]", redis_url=redis_settings.redis_url,
                          extension_settings=f"{{counted: {{log: '{log}'}}}}", heartbeat_seconds="0.2")
    runtime = configure(redis_settings)
    processes = {name: start_jobsync(env, *args) for name, args in {
        "serve": ("serve", "--port", "0"), "worker": ("worker", "--threads", "1"), "scheduler": ("scheduler",)
    }.items()}
    try:
        def readied() -> list[int]:
            return [int(line) for line in log.read_text().split()] if log.exists() else []

        # serve's worker thread publishing means serve has built its app and started every thread.
        wait_until(lambda: {processes["serve"].pid, processes["worker"].pid}
                   <= {record.pid for record in live_workers(runtime)}, timeout=60, message="both workers up")
        wait_until(lambda: processes["scheduler"].pid in readied(), timeout=60, message="scheduler's ready()")
    finally:
        errors = stop_all(processes)
    assert sorted(readied()) == sorted(process.pid for process in processes.values()), errors

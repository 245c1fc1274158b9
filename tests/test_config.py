import subprocess
import sys

import pytest

from service.config import load_settings
from service.errors import ConfigError


def run_jobsync(*args, env):
    return subprocess.run([sys.executable, "-m", "service.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("JOBSYNC_WORKER_THREADS", "many", "worker_threads"),
        ("JOBSYNC_REDIS_URL", "http://example.invalid/0", "redis_url"),
        ("JOBSYNC_DATABASE_URL", "mysql://x/y", "database_url"),
        ("JOBSYNC_ISOLATION", "container", "isolation"),
    ],
)
def test_bad_environment_values_stop_start_up_naming_the_key(cli_env, variable, value, key):
    cli_env[variable] = value
    result = run_jobsync("db", "upgrade", env=cli_env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and repr(key) in lines[0]


def test_an_unknown_key_in_the_config_file_stops_start_up(cli_env, tmp_path):
    config = tmp_path / "jobsync.yaml"
    config.write_text("worker_thread: 4\n")
    cli_env["JOBSYNC_CONFIG"] = str(config)
    result = run_jobsync("db", "upgrade", env=cli_env)
    assert result.returncode == 2
    assert "'worker_thread'" in result.stderr and "Unknown field" in result.stderr


def test_a_config_file_that_is_not_a_mapping_is_refused(tmp_path):
    config = tmp_path / "jobsync.yaml"
    config.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(environ={"JOBSYNC_CONFIG": str(config)})


def test_sources_apply_in_order_file_then_environment_then_overrides(tmp_path):
    config = tmp_path / "jobsync.yaml"
    config.write_text("worker_threads: 3\nkeep_checkouts: 9\n")
    environ = {"JOBSYNC_CONFIG": str(config), "JOBSYNC_WORKER_THREADS": "5"}
    settings = load_settings({"keep_checkouts": 2}, environ=environ)
    assert settings.worker_threads == 5 and settings.keep_checkouts == 2


def test_embedded_default_is_sqlite_in_the_data_dir_and_the_in_process_broker(tmp_path):
    settings = load_settings(environ={"JOBSYNC_DATA_DIR": str(tmp_path)})
    assert settings.redis_url is None
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'jobsync.sqlite3'}"


def test_queues_are_high_default_low_then_custom_ones(tmp_path):
    settings = load_settings({"queues": ["reports", "acme.bulk"]}, environ={})
    assert settings.all_queues == ("high", "default", "low", "reports", "acme.bulk")


def test_queue_aliases_resolve_names_and_must_point_at_a_served_queue():
    settings = load_settings({"queue_aliases": {"celery": "default"}}, environ={})
    assert settings.all_queues.resolve("celery") == "default" and settings.all_queues.resolve("low") == "low"
    with pytest.raises(ConfigError, match="queue_aliases"):
        load_settings({"queue_aliases": {"celery": "nowhere"}}, environ={})

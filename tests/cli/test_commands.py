import os
import subprocess
import sys

import click
from click.testing import CliRunner
from sqlalchemy import select

from service.cli import main
from service.infra.db import Database
from service.models import Token
from service.users import hash_token


def all_commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


def test_every_command_describes_itself_in_its_help():
    runner = CliRunner()
    commands = list(all_commands(main))
    assert {("serve",), ("worker",), ("scheduler",), ("db", "upgrade"), ("user", "create"),
            ("token", "create")} <= set(commands)
    for path in [(), *commands]:
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        usage, _, description = result.output.partition("\n\n")
        assert usage.startswith("Usage:") and description.strip(), path


def test_token_create_prints_the_key_once_and_stores_only_its_hash(cli_env, database_url):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "service.cli", *args], env=cli_env,
                              capture_output=True, text=True, timeout=60, check=True)

    run("user", "create", "alice")
    key = run("token", "create", "alice").stdout.strip()
    assert len(key) == 40
    database = Database(database_url)
    with database.session() as session:
        tokens = session.scalars(select(Token)).all()
        assert [t.key_hash for t in tokens] == [hash_token(key)]
        stored = [str(value) for t in tokens for value in vars(t).values()]
    database.dispose()
    assert not any(key in value for value in stored)


def test_creating_a_user_twice_exits_2_with_one_line(cli_env):
    runner = CliRunner(env=cli_env)
    assert runner.invoke(main, ["user", "create", "bob"]).exit_code == 0
    result = runner.invoke(main, ["user", "create", "bob"])
    assert result.exit_code == 2
    assert "already exists" in result.output


def test_a_command_on_an_unmigrated_database_says_to_run_db_upgrade(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBSYNC_")}
    env.update(JOBSYNC_DATA_DIR=str(tmp_path / "empty"))
    result = subprocess.run([sys.executable, "-m", "service.cli", "jobs", "list"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "run `jobsync db upgrade`" in result.stderr

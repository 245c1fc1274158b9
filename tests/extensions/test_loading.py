"""Loading extensions at configure: queues, settings, backends; refusing broken ones at start-up."""

import json
import subprocess

import pytest
from click.testing import CliRunner

from repos.backends import backend_class
from service.bootstrap import configure
from service.cli import main
from service.config import BUILTIN_QUEUES
from service.errors import ConfigError
from service.extensions import get_extension, ready_extensions
from service.jobs import system_jobs
from tests.helpers.extensions import (
    ACME,
    cli_environment,
    start_jobsync,
    stop,
    unique_package,
    write_extension,
)


def test_an_extension_adds_its_queues_after_the_built_in_ones_with_an_actor_each(runtime):
    assert runtime.settings.all_queues == (*BUILTIN_QUEUES, "acme.reports")
    assert runtime.actors["acme.reports"].queue_name == "acme.reports"


def test_an_extension_registers_its_data_backends_and_system_jobs(runtime):
    from acme_extension.data_backends import TarArchiveBackend
    from acme_extension.housekeeping import AcmeHousekeeping

    assert backend_class("acme-tar") is TarArchiveBackend
    assert (AcmeHousekeeping, 1) in system_jobs()
    assert [backend.name for backend in get_extension("acme").backends] == ["acme-tar"]


def test_extension_settings_merge_config_values_over_the_defaults(settings):
    configure(settings)
    assert get_extension("acme").settings == {"stale_after_minutes": 30}
    configure(settings.replace(extension_settings={"acme": {"stale_after_minutes": 5}}))
    assert get_extension("acme").settings == {"stale_after_minutes": 5}


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ({"acme": {"colour": "red"}}, "acme.colour': extension 'acme_extension' has no such setting"),
        ({"acme": {"stale_after_minutes": "soon"}}, "expected int, not str"),
        ({"acme": {"stale_after_minutes": True}}, "expected int, not bool"),
        ({"acme_typo": {"stale_after_minutes": 1}}, "'acme_typo' is not a loaded extension's name"),
    ],
)
def test_extension_settings_refuse_unknown_keys_wrong_types_and_unknown_extensions(settings, given, problem):
    with pytest.raises(ConfigError, match=problem):
        configure(settings.replace(extension_settings=given))


def test_an_extension_may_offer_neither_jobs_nor_backends(settings, extension_dir):
    package = write_extension(extension_dir, unique_package(), name="bare", queues=["slow"])
    runtime = configure(settings.replace(extensions=(ACME, package)))
    bare = runtime.extensions.get("bare")
    assert (bare.jobs_module, bare.backends, bare.queue_names) == (None, [], ("bare.slow",))
    assert runtime.settings.all_queues[-2:] == ("acme.reports", "bare.slow")


def test_ready_is_called_once_per_process_however_often_start_up_asks(settings, extension_dir):
    package = write_extension(extension_dir, unique_package(), name="counted",
                              top="CALLS = []", ready="CALLS.append(os.getpid())")
    runtime = configure(settings.replace(extensions=(package,)))
    from service.app import create_app

    create_app(runtime=runtime)
    create_app(runtime=runtime)
    ready_extensions(configure(settings.replace(extensions=(package,))))
    assert __import__(package).CALLS == [__import__("os").getpid()]


def write_broken_extensions(root):
    """Broken extensions by kind: (environment settings, command, package, expected words)."""
    def case(extension_name, *, command=("extensions", "list"), **options):
        package = write_extension(root, unique_package(extension_name), name=extension_name, **options)
        return {"extensions": f"[{package}]"}, command, package

    cases = {
        "import": (*case("boom", top="raise RuntimeError('no database driver')"), "no database driver"),
        "ready": (*case("grumpy", command=("scheduler",), ready="raise ValueError('missing licence key')"),
                  "missing licence key"),
    }
    first = write_extension(root, unique_package("first"), name="twin")
    values, command, package = case("twin")
    cases["duplicate"] = ({"extensions": f"[{first}, {package}]"}, command, package, "'twin' is already used")
    return cases


def test_a_broken_extension_stops_start_up_with_exit_2_and_one_line_naming_it(cli_env, tmp_path):
    root = tmp_path / "broken"
    root.mkdir()
    cases = write_broken_extensions(root)
    started = {kind: start_jobsync(cli_environment(cli_env, path=root, **values), *command)
               for kind, (values, command, _, _) in cases.items()}  # all at once: start-up is the slow part
    for kind, process in started.items():
        _, _, package, expected = cases[kind]
        lines = stop_after_exit(process).strip().splitlines()
        assert process.returncode == 2, (kind, lines)
        assert len(lines) == 1 and lines[0].startswith(f"jobsync: extension {package!r}"), (kind, lines)
        assert expected in lines[0], (kind, lines)


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"name": "not-an-identifier"}, "name 'not-an-identifier' is not a Python identifier"),
        ({"name": "twice", "queues": ["a", "a"]}, "queue 'a' is declared twice"),
        ({"name": "dotted", "queues": ["a.b"]}, "queue 'a.b' must be letters, digits"),
        ({"name": "clash", "queues": ["reports"]}, "queue 'clash.reports' clashes with a built-in or config"),
        ({"name": "nojobs", "attributes": "jobs = 'tasks'"}, "jobs module '.*\\.tasks' does not exist"),
    ],
)
def test_extensions_with_a_bad_declaration_are_refused_naming_them(settings, extension_dir, options, problem):
    package = write_extension(extension_dir, unique_package(), **options)
    with pytest.raises(ConfigError, match=problem) as caught:
        configure(settings.replace(extensions=(package,), queues=("clash.reports",)))
    assert str(caught.value).startswith(f"extension {package!r}: ")


def test_a_package_without_config_is_refused(settings, extension_dir):
    (extension_dir / "plain_package_x1").mkdir()
    (extension_dir / "plain_package_x1" / "__init__.py").write_text("VERSION = '1'\n")
    with pytest.raises(ConfigError, match="'plain_package_x1': has no `config`"):
        configure(settings.replace(extensions=("plain_package_x1",)))


def stop_after_exit(process) -> str:
    """Wait for a process that should exit by itself; return its stderr."""
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pass  # stop() kills it; the exit status assertion then fails
    return stop(process)


def test_extensions_list_shows_each_extension_version_queues_jobs_and_backends(cli_env):
    runner = CliRunner(env=cli_environment(cli_env, extensions=f"[{ACME}]"))
    assert runner.invoke(main, ["jobs", "refresh"]).exit_code == 0
    listed = runner.invoke(main, ["extensions", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output) == [{
        "name": "acme", "verbose_name": "Acme", "package": ACME, "version": "1.0.0",
        "queues": ["acme.reports"], "jobs_module": "acme_extension.jobs",
        "jobs": ["extensions/acme.jobs/InventoryReport", "extensions/acme.jobs/Ping"],
        "backends": ["acme-tar"],
    }]
    table = runner.invoke(main, ["extensions", "list"]).output.splitlines()
    assert table[0].split() == ["NAME", "VERSION", "QUEUES", "JOBS", "BACKENDS"]
    assert table[1].split()[:3] == ["acme", "1.0.0", "acme.reports"] and table[1].endswith("acme-tar")

"""Content-addressed environments built with uv from local wheels (never the network)."""

import json
import os
import subprocess
import sys
import threading

import pytest

from repos import environments
from repos.declarations import Declaration
from repos.environments import MARKER, PackageSource, ensure_environment, environment_key, prepare
from repos.errors import ResolutionFailed
from tests.helpers.wheels import make_wheel, make_wheelhouse


@pytest.fixture
def wheelhouse(tmp_path):
    folder = make_wheelhouse(tmp_path / "wheels", {"greeting": ("1.0", "2.0"), "netbits": ("0.3",)})
    make_wheel(folder, "toolkit", "1.1", requires=("netbits>=0.3",))
    return folder


@pytest.fixture
def source(wheelhouse):
    return PackageSource(find_links=(str(wheelhouse),))


def declared(*requirements, pinned=False):
    return Declaration(source="requirements.txt", requirements=requirements, pinned=pinned)


def test_a_declaration_resolves_with_its_dependencies_and_installs_into_a_keyed_folder(tmp_path, source):
    environment = prepare(tmp_path, declared("toolkit", "greeting<2"), source)
    assert environment.packages == {"greeting": "1.0", "netbits": "0.3", "toolkit": "1.1"}
    assert environment.path == tmp_path / "envs" / environment.key
    assert environment.key == environment_key(environment.requirements)
    assert (environment.path / "toolkit.py").is_file()
    recorded = json.loads((environment.path / MARKER).read_text())
    assert recorded["packages"] == environment.packages


def test_the_same_set_declared_differently_shares_one_environment(tmp_path, source):
    loose = prepare(tmp_path, declared("greeting<2"), source)
    pinned = prepare(tmp_path, declared("greeting==1.0", pinned=True), source)
    assert loose.key == pinned.key
    assert [p.name for p in (tmp_path / "envs").iterdir() if not p.name.startswith(".")] == [loose.key]


def test_an_unchanged_declaration_runs_no_uv_at_all(tmp_path, source, monkeypatch):
    first = prepare(tmp_path, declared("greeting"), source)

    def no_subprocess(*args, **kwargs):
        raise AssertionError("uv ran again for an unchanged declaration")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    assert prepare(tmp_path, declared("greeting"), source) == first


def test_a_missing_package_fails_resolution_naming_the_package(tmp_path, source):
    with pytest.raises(ResolutionFailed) as failure:
        prepare(tmp_path, declared("greeting", "nosuchpackage==1.0"), source)
    assert failure.value.package == "nosuchpackage"
    assert "nosuchpackage" in str(failure.value)
    assert not any(p for p in (tmp_path / "envs").iterdir() if not p.name.startswith("."))


def test_an_unavailable_version_fails_resolution_naming_the_package(tmp_path, source):
    with pytest.raises(ResolutionFailed) as failure:
        prepare(tmp_path, declared("greeting==9.9"), source)
    assert failure.value.package == "greeting"


def test_a_build_interrupted_halfway_is_rebuilt_not_reused(tmp_path, source):
    requirements = "greeting==2.0\n"
    key = environment_key(requirements)
    envs = tmp_path / "envs"
    # What a killed build leaves: a scratch folder, and (from any older layout) a folder with no marker.
    (envs / f".building-{key}-deadbeef").mkdir(parents=True)
    (envs / f".building-{key}-deadbeef" / "greeting.py").write_text("half written")
    (envs / key).mkdir()
    (envs / key / "greeting.py").write_text("VERSION = 'truncated'")

    environment = ensure_environment(tmp_path, requirements, source)

    assert (environment.path / MARKER).is_file()
    assert "VERSION = '2.0'" in (environment.path / "greeting.py").read_text()
    assert not list(envs.glob(".building-*"))


def test_a_build_that_fails_leaves_no_environment_behind(tmp_path, source):
    with pytest.raises(environments.InstallFailed):
        ensure_environment(tmp_path, "greeting==7.0\n", source)  # pinned: uv only installs, and fails
    assert environments.load_environment(tmp_path, environment_key("greeting==7.0\n")) is None
    assert not list((tmp_path / "envs").glob(".building-*"))


def test_concurrent_builds_of_one_environment_build_once_and_all_reuse_it(tmp_path, source, monkeypatch):
    builds, real_build = [], environments._build
    started = threading.Barrier(3)

    def counting_build(*args, **kwargs):
        builds.append(args[1])
        return real_build(*args, **kwargs)

    monkeypatch.setattr(environments, "_build", counting_build)
    results = []

    def build():
        started.wait(timeout=10)
        results.append(ensure_environment(tmp_path, "greeting==1.0\nnetbits==0.3\n", source))

    threads = [threading.Thread(target=build) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 3 and len({result.path for result in results}) == 1
    assert len(builds) == 1


def test_activate_puts_an_environment_ahead_of_everything_on_sys_path(tmp_path, source, monkeypatch):
    environment = prepare(tmp_path, declared("greeting"), source)
    monkeypatch.setattr(sys, "path", ["/service/site-packages"])
    environments.activate(environment.path)
    assert sys.path == [str(environment.path), "/service/site-packages"]


def test_garbage_collection_keeps_what_is_used_and_the_most_recent_unused(tmp_path, source):
    old, recent, used = (
        ensure_environment(tmp_path, f"{name}\n", source)
        for name in ("greeting==1.0", "greeting==2.0", "netbits==0.3")
    )
    environments.touch(old.path)  # then recent is touched after it: most recently used
    environments.touch(recent.path)
    os.utime(old.path, (1, 1))
    removed = environments.collect_garbage(tmp_path, {used.key}, keep_unused=1)
    assert removed == [old.key]
    assert not old.path.exists() and recent.path.exists() and used.path.exists()


def test_an_index_url_with_credentials_never_shows_them_in_the_error(tmp_path):
    source = PackageSource(index_url="http://user:s3cret@127.0.0.1:9/simple", timeout=30)
    with pytest.raises(ResolutionFailed) as failure:
        prepare(tmp_path, declared("greeting"), source)
    assert "127.0.0.1:9/simple" in str(failure.value)  # the configured index was asked
    assert "s3cret" not in str(failure.value)


def test_a_uv_lock_beside_pyproject_installs_the_locked_versions(tmp_path, wheelhouse, source):
    from uv import find_uv_bin

    from repos.declarations import read_declaration

    project = tmp_path / "checkout"
    project.mkdir()
    pyproject = '[project]\nname = "jobs"\nversion = "0.1"\nrequires-python = ">=3.11"\ndependencies = [{}]\n'
    (project / "pyproject.toml").write_text(pyproject.format('"greeting<2"'))
    subprocess.run([find_uv_bin(), "lock", "--no-index", "--find-links", str(wheelhouse), "--project",
                    str(project), "--python", sys.executable, "--quiet"],
                   check=True, env={**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv-cache")})
    (project / "pyproject.toml").write_text(pyproject.format('"greeting"'))  # loosened: the lock still pins

    assert prepare(tmp_path, read_declaration(project), source).packages == {"greeting": "1.0"}

import sys

import pytest

from repos.errors import JobClassNotFound, PackageImportFailed
from repos.git import GitSettings, ensure_checkout, fetch
from repos.loader import (
    import_jobs_package,
    import_submodules_individually,
    install_namespace,
    load_job_class,
    purge_namespace,
)
from service.jobs.errors import ValidationError
from service.jobs.registry import clear_registry, registered_jobs
from tests.helpers import git as gitfixtures
from tests.helpers.job_sources import job_module

NAMESPACE = "loader_demo"


@pytest.fixture(autouse=True)
def clean_namespace():
    path_before = list(sys.path)
    yield
    purge_namespace(NAMESPACE)
    clear_registry()
    assert sys.path == path_before


def make_checkout(tmp_path, files, name="checkout"):
    checkout = tmp_path / name
    checkout.mkdir()
    gitfixtures.write_files(checkout, files)
    return checkout


def test_loader_loads_two_commits_of_the_same_module_one_after_the_other(tmp_path):
    work, bare = gitfixtures.make_remote(
        tmp_path,
        {"jobs/__init__.py": "from . import hello\n", "jobs/hello.py": job_module("Hello", name="v1")},
    )
    data_dir, settings = tmp_path / "data", GitSettings(allow_local=True)
    first = ensure_checkout(
        data_dir, NAMESPACE, fetch(data_dir, NAMESPACE, str(bare), "main", settings=settings)
    )
    gitfixtures.write_files(work, {"jobs/hello.py": job_module("Hello", name="v2")})
    gitfixtures.commit(work)
    gitfixtures.push(work, "main")
    second = ensure_checkout(
        data_dir, NAMESPACE, fetch(data_dir, NAMESPACE, str(bare), "main", settings=settings)
    )

    old = load_job_class(NAMESPACE, first, f"{NAMESPACE}.jobs.hello", "Hello")
    assert old.job_spec()["name"] == "v1"
    new = load_job_class(NAMESPACE, second, f"{NAMESPACE}.jobs.hello", "Hello")
    assert new.job_spec()["name"] == "v2"
    assert new is not old and old.job_spec()["name"] == "v1"
    assert sys.modules[f"{NAMESPACE}.jobs.hello"].__file__.startswith(str(second))
    assert list(first.rglob("__pycache__")) == list(second.rglob("__pycache__")) == []


def test_loading_the_same_commit_again_reuses_the_imported_module(tmp_path):
    checkout = make_checkout(tmp_path, {"jobs/__init__.py": "", "jobs/hello.py": job_module("Hello")})
    first = load_job_class(NAMESPACE, checkout, f"{NAMESPACE}.jobs.hello", "Hello")
    assert load_job_class(NAMESPACE, checkout, f"{NAMESPACE}.jobs.hello", "Hello") is first


def test_purge_namespace_removes_the_package_and_every_submodule(tmp_path):
    checkout = make_checkout(tmp_path, {"jobs/__init__.py": "from . import hello\n", "jobs/hello.py": ""})
    import_jobs_package(NAMESPACE, checkout)
    removed = purge_namespace(NAMESPACE)
    assert sorted(removed) == [NAMESPACE, f"{NAMESPACE}.jobs", f"{NAMESPACE}.jobs.hello"]
    assert not [name for name in sys.modules if name.startswith(NAMESPACE)]


def test_purging_a_namespace_forgets_its_registered_jobs(tmp_path):
    checkout = make_checkout(
        tmp_path, {"jobs/__init__.py": "from . import hello\n", "jobs/hello.py": job_module("Hello")}
    )
    import_jobs_package(NAMESPACE, checkout)
    assert [job.__name__ for job in registered_jobs()] == ["Hello"]
    purge_namespace(NAMESPACE)
    assert registered_jobs() == []


def test_repository_helpers_outside_jobs_are_importable_under_the_namespace(tmp_path):
    files = {
        "lib/__init__.py": "",
        "lib/greeting.py": "WORD = 'hi'\n",
        "jobs/__init__.py": "from ..lib.greeting import WORD\n",
    }
    package = import_jobs_package(NAMESPACE, make_checkout(tmp_path, files))
    assert package.WORD == "hi"


def test_a_job_module_loads_even_when_a_sibling_breaks_the_package_init(tmp_path):
    files = {
        "jobs/__init__.py": "from . import broken, hello\n",
        "jobs/broken.py": "raise RuntimeError('broken')\n",
        "jobs/hello.py": job_module("Hello"),
    }
    job = load_job_class(NAMESPACE, make_checkout(tmp_path, files), f"{NAMESPACE}.jobs.hello", "Hello")
    assert job.__name__ == "Hello"


def test_a_module_that_fails_to_import_raises_package_import_failed(tmp_path):
    files = {"jobs/__init__.py": "", "jobs/broken.py": "raise RuntimeError('broken on purpose')\n"}
    with pytest.raises(PackageImportFailed, match="broken on purpose"):
        load_job_class(NAMESPACE, make_checkout(tmp_path, files), f"{NAMESPACE}.jobs.broken", "Broken")


def test_a_missing_class_raises_job_class_not_found(tmp_path):
    checkout = make_checkout(tmp_path, {"jobs/__init__.py": "", "jobs/hello.py": "VALUE = 1\n"})
    with pytest.raises(JobClassNotFound):
        load_job_class(NAMESPACE, checkout, f"{NAMESPACE}.jobs.hello", "Hello")
    with pytest.raises(JobClassNotFound):
        load_job_class(NAMESPACE, checkout, f"{NAMESPACE}.jobs.hello", "VALUE")
    with pytest.raises(JobClassNotFound):
        load_job_class(NAMESPACE, checkout, "os.path", "join")


def test_importing_submodules_individually_records_each_failure(tmp_path):
    files = {
        "jobs/__init__.py": "raise RuntimeError('never run')\n",
        "jobs/alpha.py": job_module("Alpha"),
        "jobs/broken.py": "import missing_dependency_xyz\n",
        "jobs/pkg/__init__.py": job_module("Packaged"),
        "jobs/notes.txt": "not python\n",
        "jobs/not-a-module.py": "raise RuntimeError('skipped: not an identifier')\n",
    }
    errors = import_submodules_individually(NAMESPACE, make_checkout(tmp_path, files))
    assert [(error.module_name, error.error) for error in errors] == [
        (f"{NAMESPACE}.jobs.broken", "ModuleNotFoundError: No module named 'missing_dependency_xyz'")
    ]
    assert sorted(job.__name__ for job in registered_jobs()) == ["Alpha", "Packaged"]


def test_a_namespace_never_replaces_an_installed_module():
    with pytest.raises(ValidationError):
        install_namespace("json", "/nowhere")
    assert sys.modules["json"].__name__ == "json"

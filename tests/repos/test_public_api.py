import importlib
import pkgutil

import pytest

import repos

PUBLIC_MODULES = sorted(
    name for _, name, _ in pkgutil.iter_modules(repos.__path__, "repos.") if name != "repos.discover_child"
)


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_each_module_declares_a_sorted_public_api_of_names_it_defines(module_name):
    module = importlib.import_module(module_name)
    assert module.__all__ == sorted(module.__all__)
    assert [name for name in module.__all__ if not hasattr(module, name)] == []


def test_only_the_git_module_imports_gitpython():
    importers = [
        name
        for name in PUBLIC_MODULES + ["repos.discover_child"]
        if "import git\n" in _source(name) or "from git " in _source(name)
    ]
    assert importers == ["repos.git"]


def _source(module_name):
    return open(importlib.import_module(module_name).__file__).read()

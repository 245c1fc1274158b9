import importlib.util
import sys
import textwrap
import uuid

import pytest

from service.jobs import clear_registry, runner


@pytest.fixture(autouse=True)
def isolated_registries(monkeypatch):
    """Give every test empty job, runner and system-job registries and no dispatcher."""
    clear_registry()
    monkeypatch.setattr(runner, "_runners", {})
    monkeypatch.setattr(runner, "_system_jobs", {})
    monkeypatch.setattr(runner, "_dispatcher", None)
    yield
    clear_registry()


@pytest.fixture
def load_module(tmp_path):
    """Write Python source to a file under tmp_path and import it under a unique module name."""
    loaded = []

    def load(source: str, filename: str = "job_module.py", directory=None):
        directory = directory or tmp_path
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / filename
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        name = f"jobsync_test_{uuid.uuid4().hex}.{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loaded.append(name)
        spec.loader.exec_module(module)
        return module

    yield load
    for name in loaded:
        sys.modules.pop(name, None)

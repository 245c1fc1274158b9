"""Package metadata (pyproject.toml)."""

import tomllib
from pathlib import Path

from packaging.specifiers import SpecifierSet


def test_python_releases_before_3_11_4_are_refused():
    """3.11.4 fixed tarfile's extraction filters, which checkouts rely on."""
    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
    supported = SpecifierSet(project["requires-python"])
    assert "3.11.3" not in supported and "3.11.4" in supported and "3.12.0" in supported

"""Tiny local wheels for dependency tests: written as zip files here, so no test needs the network."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

WHEEL_FILE = b"Wheel-Version: 1.0\nGenerator: jobsync-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def make_wheel(
    folder: str | Path,
    name: str,
    version: str,
    *,
    modules: dict[str, str] | None = None,
    requires: tuple[str, ...] = (),
) -> Path:
    """Write ``<name>-<version>-py3-none-any.whl`` into ``folder`` and return its path.

    By default the wheel holds one module, ``<name>.py``, whose ``VERSION`` is ``version``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    module = name.replace("-", "_")
    modules = modules or {f"{module}.py": f"VERSION = {version!r}\n"}
    info = f"{module}-{version}.dist-info"
    metadata = "".join(
        [f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"]
        + [f"Requires-Dist: {requirement}\n" for requirement in requires]
    )
    files = {path: text.encode() for path, text in modules.items()}
    files[f"{info}/METADATA"] = metadata.encode()
    files[f"{info}/WHEEL"] = WHEEL_FILE
    record = [_record_line(path, data) for path, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = folder / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return path


def make_wheelhouse(folder: str | Path, packages: dict[str, tuple[str, ...]]) -> Path:
    """Write one wheel per (name, version) pair in ``packages`` ({name: versions}); return the folder."""
    for name, versions in packages.items():
        for version in versions:
            make_wheel(folder, name, version)
    return Path(folder)

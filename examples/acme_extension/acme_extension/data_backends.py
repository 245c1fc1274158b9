"""A data backend serving job code from a tar archive on the server.

A version is the SHA-1 of the archive's bytes. Materialising a version extracts exactly those
bytes (read once, then checked), with tarfile's ``data`` filter: absolute names, ``..``, links
leaving the tree and special files are refused rather than written.
"""

import hashlib
import io
import tarfile
from pathlib import Path

from repos.errors import RefNotFound, RepositoryError
from service.jobs import DataBackend, StringVar


class TarArchiveBackend(DataBackend):
    name = "acme-tar"
    label = "Tar archive (Acme)"
    path = StringVar(description="Absolute path of a .tar, .tar.gz or .tar.bz2 archive with a jobs package")

    def _read(self) -> bytes:
        if not self.context.allow_local:
            raise RepositoryError("Archives on the server are not allowed (allow_local_repositories is off).")
        archive = Path(self.parameters["path"])
        if not archive.is_absolute():
            raise RefNotFound(f"{archive} is not an absolute path.")
        try:
            return archive.read_bytes()
        except OSError as exc:
            raise RefNotFound(f"Cannot read {archive}: {exc.strerror}.") from None

    def latest_version(self) -> str:
        return hashlib.sha1(self._read(), usedforsecurity=False).hexdigest()

    def materialise(self, version: str, destination: Path) -> None:
        data = self._read()
        if hashlib.sha1(data, usedforsecurity=False).hexdigest() != version:
            archive = self.parameters["path"]
            raise RefNotFound(f"Version {version[:12]} of {archive} is gone: the archive has changed since.")
        try:
            with tarfile.open(fileobj=io.BytesIO(data)) as archive:
                archive.extractall(destination, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise RepositoryError(f"Cannot extract {self.parameters['path']}: {exc}") from None


backends = [TarArchiveBackend]

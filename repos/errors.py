"""The git and discovery branch of jobsync's exception tree.

JobsyncError                          (service.jobs.errors)
 ├── ValidationError                  bad remote_url / branch / slug / credentials input (HTTP 400)
 └── RepositoryError                  something went wrong with a job repository
      ├── RemoteUnreachable           the remote could not be fetched (network, auth, no such repo, timeout)
      ├── RefNotFound                 the branch, tag or commit is not in the remote / mirror
      ├── GitCommandFailed            any other git failure (stderr sanitised)
      ├── CredentialsUnavailable      the named credential is unknown or its secret unreadable
      ├── CredentialNotPinned         the remote's host is not one the credential is pinned to
      ├── DiscoveryError              the repository's jobs package could not be inspected or loaded
      │    ├── DiscoveryTimedOut      the discovery child was killed at its timeout
      │    ├── DiscoveryCrashed       the discovery child died without answering
      │    ├── PackageImportFailed    repository code failed to import (worker side)
      │    └── JobClassNotFound       the module imported but has no such class
      └── DependencyError             the declared dependencies could not be made into an environment
           ├── DeclarationInvalid     requirements.txt / requirements.lock / pyproject.toml unreadable
           ├── ResolutionFailed       uv could not resolve the set (message names the package)
           └── InstallFailed          uv resolved but could not install the set

Messages never contain secrets: git's stderr is sanitised before it reaches them.
"""

from service.jobs.errors import JobsyncError

__all__ = [
    "CredentialsUnavailable",
    "DeclarationInvalid",
    "DependencyError",
    "DiscoveryCrashed",
    "DiscoveryError",
    "DiscoveryTimedOut",
    "GitCommandFailed",
    "InstallFailed",
    "JobClassNotFound",
    "PackageImportFailed",
    "RefNotFound",
    "RemoteUnreachable",
    "RepositoryError",
    "ResolutionFailed",
]


class RepositoryError(JobsyncError):
    """Base of every error about fetching, checking out or importing a job repository."""

    code = "repository_error"


class RemoteUnreachable(RepositoryError):
    """The remote could not be fetched: network, authentication, missing repository or timeout."""

    code = "remote_unreachable"


class RefNotFound(RepositoryError):
    """The branch, tag or commit asked for does not exist in the remote or the mirror."""

    code = "ref_not_found"


class GitCommandFailed(RepositoryError):
    """A local git command failed for a reason we do not name more precisely."""

    code = "git_command_failed"


class CredentialsUnavailable(RepositoryError):
    """The credentials reference names an environment variable or file that is missing or empty."""

    code = "credentials_unavailable"


class CredentialNotPinned(RepositoryError):
    """A credential would go to a host it is not pinned to: the fetch is refused before git runs."""

    code = "credential_not_pinned"


class DiscoveryError(RepositoryError):
    """Base of errors about importing a repository's jobs package."""

    code = "discovery_error"


class DiscoveryTimedOut(DiscoveryError):
    """The discovery child ran past its timeout and was killed."""

    code = "discovery_timed_out"

    def __init__(self, message: str, *, module_name: str | None = None, timeout: float | None = None):
        super().__init__(message)
        self.module_name = module_name
        self.timeout = timeout


class DiscoveryCrashed(DiscoveryError):
    """The discovery child exited (os._exit, a signal, a crash) without reporting."""

    code = "discovery_crashed"

    def __init__(self, message: str, *, module_name: str | None = None, returncode: int | None = None):
        super().__init__(message)
        self.module_name = module_name
        self.returncode = returncode


class PackageImportFailed(DiscoveryError):
    """Repository code raised while being imported."""

    code = "package_import_failed"


class JobClassNotFound(DiscoveryError):
    """The job's module imported but does not define the class asked for."""

    code = "job_class_not_found"


class DependencyError(RepositoryError):
    """Base of errors about a repository's declared dependencies."""

    code = "dependency_error"

    def __init__(self, message: str, *, package: str | None = None):
        super().__init__(message)
        self.package = package


class DeclarationInvalid(DependencyError):
    """requirements.txt, requirements.lock or pyproject.toml could not be read or parsed."""

    code = "declaration_invalid"


class ResolutionFailed(DependencyError):
    """uv could not resolve the declared set (no such package or version, conflicts)."""

    code = "resolution_failed"


class InstallFailed(DependencyError):
    """uv resolved the set but could not install it into its environment."""

    code = "install_failed"

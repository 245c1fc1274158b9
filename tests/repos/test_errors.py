import inspect

import pytest

from repos import errors
from service.jobs.errors import JobsyncError

ERROR_CLASSES = [
    value for _, value in inspect.getmembers(errors, inspect.isclass) if issubclass(value, Exception)
]
REPOSITORY_CLASSES = [cls for cls in ERROR_CLASSES if cls is not JobsyncError]


@pytest.mark.parametrize("error_class", REPOSITORY_CLASSES, ids=lambda cls: cls.__name__)
def test_every_repository_error_is_a_repository_error_drawn_in_the_module_docstring(error_class):
    assert issubclass(error_class, errors.RepositoryError)
    assert issubclass(error_class, JobsyncError)
    assert error_class.__name__ in errors.__doc__


def test_discovery_failures_share_the_discovery_category():
    for leaf in (
        errors.DiscoveryTimedOut,
        errors.DiscoveryCrashed,
        errors.PackageImportFailed,
        errors.JobClassNotFound,
    ):
        assert issubclass(leaf, errors.DiscoveryError)


def test_category_bases_end_in_error_and_leaves_do_not():
    categories = {
        cls
        for cls in REPOSITORY_CLASSES
        if any(other is not cls and issubclass(other, cls) for other in REPOSITORY_CLASSES)
    }
    assert {cls.__name__ for cls in categories} == {"RepositoryError", "DiscoveryError", "DependencyError"}
    assert all(not cls.__name__.endswith("Error") for cls in set(REPOSITORY_CLASSES) - categories)


def test_each_error_has_its_own_code():
    codes = [cls.code for cls in REPOSITORY_CLASSES]
    assert len(set(codes)) == len(codes)


def test_dependency_failures_share_the_dependency_category_and_name_the_package():
    for leaf in (errors.DeclarationInvalid, errors.ResolutionFailed, errors.InstallFailed):
        assert issubclass(leaf, errors.DependencyError)
    assert errors.ResolutionFailed("no such package", package="netmiko").package == "netmiko"

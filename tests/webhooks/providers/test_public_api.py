import importlib

import pytest

from service.jobs.errors import JobsyncError, ValidationError
from webhooks.errors import (
    PayloadInvalid,
    SignatureMismatch,
    SignatureMissing,
    UnsupportedProvider,
    WebhookError,
)

MODULES = ["webhooks.changes", "webhooks.errors", "webhooks.providers"]


@pytest.mark.parametrize("name", MODULES)
def test_public_api_is_a_sorted_all_of_names_that_exist(name):
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__)
    assert all(hasattr(module, attribute) for attribute in module.__all__)


@pytest.mark.parametrize("error", [SignatureMissing, SignatureMismatch, UnsupportedProvider, PayloadInvalid])
def test_every_webhook_error_is_in_the_webhook_branch_of_jobsync_errors(error):
    assert issubclass(error, WebhookError)
    assert issubclass(error, JobsyncError)


def test_payload_invalid_is_also_a_validation_error_with_fields():
    error = PayloadInvalid({"after": ["This field is required."]})
    assert isinstance(error, ValidationError)
    assert error.fields == {"after": ["This field is required."]}
    assert "after" in str(error)


def test_signature_errors_answer_401_and_bad_requests_400():
    assert SignatureMissing.status == SignatureMismatch.status == 401
    assert UnsupportedProvider.status == PayloadInvalid.status == 400

"""The webhook branch of jobsync's exception tree: requests refused at the HTTP edge.

JobsyncError                                  (service.jobs.errors)
 ├── ValidationError(fields)                  400  bad input, field -> [messages]
 │    └── PayloadInvalid ─────────────┐       400  a body that does not parse; fields name what is wrong
 └── WebhookError                     │       a webhook request we refuse
      ├── SignatureMissing            │       401  no signature or token header, or an empty one
      ├── SignatureMismatch           │       401  the signature or token does not match the raw body
      ├── UnsupportedProvider         │       400  the headers name no provider we know
      └── PayloadInvalid ◄────────────┘       (both a ValidationError and a WebhookError)

Messages never carry the secret, the expected digest or the signature that was sent.
"""

from service.jobs.errors import JobsyncError, ValidationError

__all__ = [
    "PayloadInvalid",
    "SignatureMismatch",
    "SignatureMissing",
    "UnsupportedProvider",
    "WebhookError",
]


class WebhookError(JobsyncError):
    """Base of errors raised while checking or reading a webhook request."""

    code = "webhook"
    status = 400


class SignatureMissing(WebhookError):
    """The request carries no signature (or token) header, or an empty one."""

    code = "signature_missing"
    status = 401


class SignatureMismatch(WebhookError):
    """The signature (or token) does not match the request body and our secret."""

    code = "signature_mismatch"
    status = 401


class UnsupportedProvider(WebhookError):
    """The headers match none of the providers we understand."""

    code = "unsupported_provider"
    status = 400


class PayloadInvalid(ValidationError, WebhookError):
    """A webhook body that cannot be read; ``fields`` names each missing or bad field."""

    code = "invalid"
    status = 400

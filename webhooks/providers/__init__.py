"""Git push webhooks without I/O: recognise the sender, verify the raw body, parse the pushes.

The blueprint reads the request and calls, in this order::

    provider = detect_provider(request.headers)             # UnsupportedProvider
    verify_signature(provider, request.headers, raw, secret)  # SignatureMissing / SignatureMismatch
    delivery = parse_delivery(provider, request.headers, raw)  # PayloadInvalid

Headers may be any mapping (their names are matched without regard to case); bodies are the raw
bytes, since a signature covers exactly what was sent.
"""

from collections.abc import Mapping

from webhooks.errors import UnsupportedProvider
from webhooks.providers.base import ZERO_SHA, Delivery, Provider, PushEvent
from webhooks.providers.bitbucket import BitbucketCloud, BitbucketServer
from webhooks.providers.generic import Generic
from webhooks.providers.gitea import Gitea
from webhooks.providers.github import GitHub
from webhooks.providers.gitlab import GitLab
from webhooks.providers.payloads import lower_keys

__all__ = [
    "Delivery",
    "PROVIDERS",
    "PushEvent",
    "ZERO_SHA",
    "detect_provider",
    "parse_delivery",
    "verify_signature",
]

# Detection order matters: Gitea and Forgejo also send X-GitHub-Event, so they come first.
_PROVIDERS: dict[str, Provider] = {
    provider.name: provider
    for provider in (Gitea(), GitHub(), GitLab(), BitbucketCloud(), BitbucketServer(), Generic())
}
PROVIDERS = tuple(_PROVIDERS)


def detect_provider(headers: Mapping[str, str]) -> str:
    """Name the provider that sent a request, from its headers alone.

    Raises UnsupportedProvider when none matches.
    """
    headers = lower_keys(headers)
    for provider in _PROVIDERS.values():
        if provider.matches(headers):
            return provider.name
    raise UnsupportedProvider("No known git provider's headers are present.")


def verify_signature(provider: str, headers: Mapping[str, str], body: bytes, secret: str) -> None:
    """Check the provider's signature (or token) over the raw body, before anything parses it.

    Raises SignatureMissing, SignatureMismatch, or UnsupportedProvider for an unknown name.
    """
    _provider(provider).verify(lower_keys(headers), body, secret)


def parse_delivery(provider: str, headers: Mapping[str, str], body: bytes) -> Delivery:
    """Read a verified request into a Delivery: its id, event, kind and pushes.

    Raises PayloadInvalid naming the missing or bad fields of a push, or UnsupportedProvider.
    """
    return _provider(provider).parse(lower_keys(headers), body)


def _provider(name: str) -> Provider:
    try:
        return _PROVIDERS[name]
    except KeyError:
        raise UnsupportedProvider(f"Unknown git provider {name!r}.") from None

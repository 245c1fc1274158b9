import hashlib

import pytest

from tests.helpers.payloads import SECRET, hex_hmac, payload, sha256_header
from webhooks.errors import SignatureMismatch, SignatureMissing, UnsupportedProvider, WebhookError
from webhooks.providers import verify_signature
from webhooks.providers.signing import verify_hmac

BODY = payload("github_push")

# provider -> (headers naming the event, signature header, how that provider writes the signature)
SIGNED = {
    "github": ({"X-GitHub-Event": "push"}, "X-Hub-Signature-256", sha256_header),
    "gitea": ({"X-Gitea-Event": "push"}, "X-Gitea-Signature", hex_hmac),
    "forgejo": ({"X-Forgejo-Event": "push"}, "X-Forgejo-Signature", hex_hmac),
    "bitbucket-cloud": ({"X-Event-Key": "repo:push"}, "X-Hub-Signature", sha256_header),
    "bitbucket-server": ({"X-Event-Key": "repo:refs_changed"}, "X-Hub-Signature", sha256_header),
    "generic": ({}, "X-Jobsync-Signature", sha256_header),
}
PROVIDER_NAME = {"forgejo": "gitea"}


def signed(case, signature):
    headers, header, _ = SIGNED[case]
    return PROVIDER_NAME.get(case, case), {**headers, header: signature}


@pytest.mark.parametrize("case", sorted(SIGNED))
def test_a_valid_signature_is_accepted(case):
    provider, headers = signed(case, SIGNED[case][2](BODY, SECRET))
    verify_signature(provider, headers, BODY, SECRET)


@pytest.mark.parametrize("case", sorted(SIGNED))
def test_a_signature_made_with_another_secret_is_refused(case):
    provider, headers = signed(case, SIGNED[case][2](BODY, "not the secret"))
    with pytest.raises(SignatureMismatch):
        verify_signature(provider, headers, BODY, SECRET)


@pytest.mark.parametrize("case", sorted(SIGNED))
def test_a_signature_over_another_body_is_refused(case):
    provider, headers = signed(case, SIGNED[case][2](BODY, SECRET))
    with pytest.raises(SignatureMismatch):
        verify_signature(provider, headers, BODY.replace(b"refs/heads/main", b"refs/heads/evil"), SECRET)


@pytest.mark.parametrize("case", sorted(SIGNED))
def test_a_missing_signature_is_refused(case):
    provider, _ = signed(case, "")
    with pytest.raises(SignatureMissing):
        verify_signature(provider, SIGNED[case][0], BODY, SECRET)


@pytest.mark.parametrize("case", sorted(SIGNED))
def test_an_empty_signature_is_refused_as_missing(case):
    provider, headers = signed(case, "")
    with pytest.raises(SignatureMissing):
        verify_signature(provider, headers, BODY, SECRET)


def test_gitea_empty_signature_sent_without_a_secret_is_refused():
    headers = {"X-Gitea-Event": "push", "X-Gitea-Signature": ""}
    with pytest.raises(SignatureMissing):
        verify_signature("gitea", headers, BODY, SECRET)


def test_forgejo_signature_is_preferred_to_the_gitea_copy():
    headers = {"X-Forgejo-Signature": "0" * 64, "X-Gitea-Signature": hex_hmac(BODY)}
    with pytest.raises(SignatureMismatch):
        verify_signature("gitea", headers, BODY, SECRET)


def test_signature_header_names_are_matched_without_regard_to_case():
    verify_signature("github", {"x-hub-signature-256": sha256_header(BODY)}, BODY, SECRET)


def test_hex_digits_in_capitals_are_accepted():
    verify_signature("github", {"X-Hub-Signature-256": sha256_header(BODY).upper()}, BODY, SECRET)


def test_a_github_signature_without_its_sha256_prefix_is_refused():
    with pytest.raises(SignatureMismatch):
        verify_signature("github", {"X-Hub-Signature-256": hex_hmac(BODY)}, BODY, SECRET)


def test_a_non_ascii_signature_is_refused_rather_than_crashing():
    with pytest.raises(SignatureMismatch):
        verify_signature("github", {"X-Hub-Signature-256": "sha256=é" * 8}, BODY, SECRET)


def test_gitlab_token_equal_to_the_secret_is_accepted():
    verify_signature("gitlab", {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET}, BODY, SECRET)


def test_gitlab_token_other_than_the_secret_is_refused():
    with pytest.raises(SignatureMismatch):
        verify_signature("gitlab", {"X-Gitlab-Token": SECRET + "x"}, BODY, SECRET)


def test_gitlab_without_a_token_is_refused_as_missing():
    with pytest.raises(SignatureMissing):
        verify_signature("gitlab", {"X-Gitlab-Event": "Push Hook"}, BODY, SECRET)


def test_gitlab_non_ascii_token_is_refused_rather_than_crashing():
    with pytest.raises(SignatureMismatch):
        verify_signature("gitlab", {"X-Gitlab-Token": "sécret"}, BODY, SECRET)


def test_github_documented_test_vector_verifies():
    # From GitHub's "Validating webhook deliveries": secret, body and the signature it expects.
    signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    verify_hmac(signature, b"Hello, World!", SECRET, header="X-Hub-Signature-256", prefix="sha256=")


@pytest.mark.parametrize("secret", ["", None])
def test_an_unset_secret_is_refused_because_anyone_could_sign_with_it(secret):
    with pytest.raises(ValueError):
        verify_signature("github", {"X-Hub-Signature-256": sha256_header(BODY, "")}, BODY, secret)
    with pytest.raises(ValueError):
        verify_signature("gitlab", {"X-Gitlab-Token": "x"}, BODY, secret)


@pytest.mark.parametrize("case", sorted(SIGNED))
def test_refusals_never_reveal_the_secret_or_the_expected_digest(case):
    provider, headers = signed(case, SIGNED[case][2](BODY, "wrong"))
    with pytest.raises(WebhookError) as caught:
        verify_signature(provider, headers, BODY, SECRET)
    message = str(caught.value)
    assert SECRET not in message
    assert hex_hmac(BODY) not in message
    assert hex_hmac(BODY, "wrong") not in message


def test_gitlab_refusal_never_reveals_the_secret():
    with pytest.raises(SignatureMismatch) as caught:
        verify_signature("gitlab", {"X-Gitlab-Token": "guess"}, BODY, SECRET)
    assert SECRET not in str(caught.value)
    assert "guess" not in str(caught.value)


def test_an_unknown_provider_name_is_refused():
    with pytest.raises(UnsupportedProvider):
        verify_signature("sourcehut", {}, BODY, SECRET)


def test_sha512_helper_differs_from_sha256():
    with pytest.raises(SignatureMismatch):
        verify_hmac(hex_hmac(BODY), BODY, SECRET, header="X-Hook-Signature", digestmod=hashlib.sha512)

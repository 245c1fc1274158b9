import pytest

from repos.git import validate_ref, validate_remote_url
from repos.remotes import scrub, strip_userinfo
from service.jobs.errors import ValidationError

ACCEPTED_URLS = [
    "https://github.com/org/repo.git",
    "https://gitlab.example.com:8443/group/sub/repo",
    "https://[::1]/repo.git",
    "ssh://git@github.com/org/repo.git",
    "ssh://git@git.example.com:2222/repo.git",
    "ssh://host.example.com/srv/repo.git",
    "git@github.com:org/repo.git",
    "deploy@git.example.com:/srv/git/repo.git",
    "github.com:org/repo.git",
]

LOCAL_URLS = [
    "file:///srv/repos/demo.git",
    "/srv/repos/demo.git",
]

REFUSED_URLS = [
    "",
    "ext::sh -c touch% /tmp/pwned",
    "ext::sh%20-c%20id",
    "fd::17",
    "fd::17/foo",
    "transport::https://github.com/org/repo.git",
    "http://github.com/org/repo.git",
    "git://github.com/org/repo.git",
    "ftp://example.com/repo.git",
    "git+ssh://github.com/org/repo.git",
    "ssh://-oProxyCommand=touch%20pwned/repo.git",
    "ssh://git@-oProxyCommand=x/repo.git",
    "ssh://-user@host/repo.git",
    "-uhttps://github.com/org/repo.git",
    "--upload-pack=touch pwned",
    "-oProxyCommand=x@host:repo.git",
    "git@-host:repo.git",
    "git@host:-repo.git",
    "https://github.com/org/../repo.git",
    "https://github.com/org/%2e%2e/repo.git",
    "git@github.com:../etc/repo.git",
    "https://github.com/org/repo.git\n",
    "https://github.com/org/ repo.git",
    "https://github.com/org/repo\x00.git",
    "https://github.com/org/repo\x1b.git",
    "https://github.com/org/repo.git\u200b",
    "https:///repo.git",
    "https://github.com:notaport/repo.git",
    "relative/path/repo.git",
    "repo.git",
    "file:///srv/repos/demo.git",
    "/srv/repos/demo.git",
]

REFUSED_EVEN_WHEN_LOCAL = [
    "file://relative/repo.git",
    "file:///srv/../etc/repo.git",
    "/srv/repos/../../etc",
    "ext::sh -c id",
]


@pytest.mark.parametrize("url", ACCEPTED_URLS)
def test_remote_url_accepts_https_ssh_and_scp_like_forms(url):
    assert validate_remote_url(url, allow_local=False) == url


@pytest.mark.parametrize("url", LOCAL_URLS)
def test_remote_url_accepts_local_paths_only_when_allowed(url):
    assert validate_remote_url(url, allow_local=True) == url
    with pytest.raises(ValidationError) as caught:
        validate_remote_url(url, allow_local=False)
    assert list(caught.value.fields) == ["remote_url"]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_remote_url_refuses_dangerous_or_unknown_forms(url):
    with pytest.raises(ValidationError) as caught:
        validate_remote_url(url, allow_local=False)
    assert list(caught.value.fields) == ["remote_url"]


@pytest.mark.parametrize("url", REFUSED_EVEN_WHEN_LOCAL)
def test_remote_url_refuses_bad_local_forms_even_when_local_is_allowed(url):
    with pytest.raises(ValidationError):
        validate_remote_url(url, allow_local=True)


@pytest.mark.parametrize(
    "url",
    ["https://user:s3cr3t-token@github.com/org/repo.git", "https://s3cr3t-token@github.com/org/repo.git"],
)
def test_remote_url_with_embedded_credentials_points_to_a_named_credential_without_echoing_it(url):
    with pytest.raises(ValidationError) as caught:
        validate_remote_url(url, allow_local=False)
    message = " ".join(caught.value.fields["remote_url"])
    assert "name a credential" in message
    assert "s3cr3t-token" not in str(caught.value)


def test_remote_url_refuses_a_password_in_an_ssh_url():
    with pytest.raises(ValidationError):
        validate_remote_url("ssh://git:hunter2@host/repo.git")


@pytest.mark.parametrize(
    "ref", ["main", "feature/x-1", "release-2.0", "v1.2.3", "0123abc", "refs/heads/main", "user_name/topic"]
)
def test_ref_accepts_ordinary_branch_tag_and_sha_names(ref):
    assert validate_ref(ref) == ref


@pytest.mark.parametrize(
    "ref",
    [
        "",
        "-main",
        "--upload-pack=x",
        "a..b",
        "a b",
        "a\tb",
        "main\n",
        "a\x7fb",
        "x::y",
        "a~1",
        "a^",
        "a:b",
        "a?",
        "a*",
        "a[b",
        "a\\b",
        "/main",
        "main/",
        "a//b",
        "a.lock",
        ".hidden",
        "a/.b",
        "main.",
        "@",
        "a@{1}",
        "x" * 256,
    ],
)
def test_ref_refuses_names_git_would_reject_or_misread(ref):
    with pytest.raises(ValidationError) as caught:
        validate_ref(ref)
    assert list(caught.value.fields) == ["branch"]


def test_strip_userinfo_removes_user_and_password_from_every_url():
    text = "fatal: unable to access 'https://bob:pw@example.com/x.git/' and ssh://git@host/y"
    assert strip_userinfo(text) == "fatal: unable to access 'https://example.com/x.git/' and ssh://host/y"


def test_scrub_replaces_known_secrets_longest_first():
    assert scrub("token abc123 and header Basic eHg6YWJjMTIz", ["abc123", "eHg6YWJjMTIz"]) == (
        "token *** and header Basic ***"
    )

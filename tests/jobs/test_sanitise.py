import re

import pytest

from service.jobs import DEFAULT_PATTERNS, Sanitiser

GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://user:secret@host/repo.git", "https://user:********@host/repo.git"),
        (
            "clone https://bob:p@ss:w0rd@git.example.com:8443/r.git",
            "clone https://bob:********@git.example.com:8443/r.git",
        ),
        (f"https://{GITHUB_TOKEN}@github.com/o/r.git", "https://********@github.com/o/r.git"),
        ("http://sometoken@example.com/x", "http://********@example.com/x"),
        ("password=hunter2 and more", "password=******** and more"),
        ("token: abc123", "token: ********"),
        ("secret=xyz&page=2", "secret=********&page=2"),
        ("api_key=abc", "api_key=********"),
        ("API-KEY: abc", "API-KEY: ********"),
        ("client_secret = s3cr3t", "client_secret = ********"),
        ('{"password": "hunter 2", "user": "bob"}', '{"password": "********", "user": "bob"}'),
        ("db_password='x y z' rest", "db_password='********' rest"),
        ("Authorization: Token 0123456789abcdef", "Authorization: Token ********"),
        ("authorization: Bearer eyJhbGci.x.y", "authorization: Bearer ********"),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic ********"),
        (f"using {GITHUB_TOKEN} now", "using ghp_******** now"),
        ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "github_pat_********"),
        ("glpat-abcdefghijklmnopqrst", "glpat-********"),
    ],
)
def test_sanitiser_redacts_credentials(text, expected):
    assert Sanitiser()(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Created device router1 with 4 interfaces",
        "The password policy was updated",
        "token count is 5",
        "mail bob@example.com about it",
        "https://example.com/path?x=1",
        "ssh://git@github.com/org/repo.git",
        "git@github.com:org/repo.git",
        "ghp_short",
        "",
    ],
)
def test_sanitiser_leaves_ordinary_text_alone(text):
    assert Sanitiser()(text) == text


def test_sanitising_twice_changes_nothing_more():
    text = "password=hunter2 https://u:p@h token: 'a b' Authorization: Bearer xyz"
    once = Sanitiser()(text)
    assert Sanitiser()(once) == once
    assert "hunter2" not in once and "xyz" not in once


def test_sanitiser_turns_non_text_into_text():
    assert Sanitiser()(None) == ""
    assert Sanitiser()({"password": "x"}) == "{'password': '********'}"


def test_sanitiser_accepts_custom_patterns_alongside_the_defaults():
    sanitise = Sanitiser([*DEFAULT_PATTERNS, (re.compile(r"SSN \d+"), "SSN ***")])
    assert sanitise("SSN 123 password=x") == "SSN *** password=********"

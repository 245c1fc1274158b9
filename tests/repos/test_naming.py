import pytest

from repos.naming import slugify, validate_slug
from service.jobs.errors import ValidationError


@pytest.mark.parametrize("slug", ["demo", "team_jobs_2", "net_ops", "_private"])
def test_validate_slug_accepts_lowercase_identifiers(slug):
    assert validate_slug(slug) == slug


@pytest.mark.parametrize(
    "slug",
    ["", "Demo", "2demo", "de-mo", "de mo", "café", "a" * 65, "class", "match", "None", "../x", "a.b"],
)
def test_validate_slug_refuses_names_that_are_not_lowercase_identifiers(slug):
    with pytest.raises(ValidationError) as caught:
        validate_slug(slug)
    assert list(caught.value.fields) == ["slug"]


@pytest.mark.parametrize(
    "slug", ["os", "json", "sys", "tkinter", "flask", "git", "service", "repos", "pytest"]
)
def test_validate_slug_refuses_names_of_importable_modules(slug):
    with pytest.raises(ValidationError, match="shadow"):
        validate_slug(slug)


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Network Ops!", "network_ops"),
        ("  Data--Center  jobs ", "data_center_jobs"),
        ("Café Jobs", "cafe_jobs"),
        ("2024 Jobs", "repo_2024_jobs"),
        ("", "repo"),
        ("!!!", "repo"),
        ("JSON", "json_jobs"),
        ("class", "class_jobs"),
    ],
)
def test_slugify_turns_display_names_into_valid_slugs(name, slug):
    assert slugify(name) == slug
    assert validate_slug(slugify(name)) == slug


def test_slugify_keeps_slugs_within_the_length_limit():
    assert validate_slug(slugify("x" * 200))


@pytest.mark.parametrize("slug", ["local", "extensions", "jobsync", "system"])
def test_validate_slug_refuses_the_namespaces_of_jobsyncs_own_jobs(slug):
    with pytest.raises(ValidationError, match="reserved") as caught:
        validate_slug(slug)
    assert list(caught.value.fields) == ["slug"]


@pytest.mark.parametrize("name", ["Local", "Extensions", "jobsync"])
def test_slugify_steps_around_reserved_namespaces(name):
    assert slugify(name) == f"{name.lower()}_jobs"

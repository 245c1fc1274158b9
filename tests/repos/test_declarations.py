"""Reading what a checkout declares: pure file reading, first declaration found wins."""

import pytest

from repos.declarations import read_declaration
from repos.errors import DeclarationInvalid


def write(root, files):
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_a_checkout_without_a_declaration_declares_nothing(tmp_path):
    assert read_declaration(write(tmp_path, {"README.md": "hi"})) is None


def test_requirements_txt_lines_are_read_without_comments_or_blanks(tmp_path):
    write(tmp_path, {"requirements.txt": "# tools\nnetaddr>=1.0  # addresses\n\njinja2\n"})
    declaration = read_declaration(tmp_path)
    assert (declaration.source, declaration.requirements, declaration.pinned) == (
        "requirements.txt", ("netaddr>=1.0", "jinja2"), False)


def test_a_pinned_requirements_lock_wins_and_is_not_resolved_again(tmp_path):
    write(tmp_path, {"requirements.txt": "netaddr\n", "requirements.lock": "netaddr==1.3.0\n"})
    declaration = read_declaration(tmp_path)
    assert (declaration.source, declaration.requirements, declaration.pinned) == (
        "requirements.lock", ("netaddr==1.3.0",), True)


def test_pyproject_project_dependencies_are_read_with_their_uv_lock(tmp_path):
    pyproject = '[project]\nname = "jobs"\nversion = "1"\ndependencies = ["netaddr>=1", "jinja2"]\n'
    write(tmp_path, {"pyproject.toml": pyproject, "uv.lock": "version = 1\n"})
    declaration = read_declaration(tmp_path)
    assert declaration.requirements == ("netaddr>=1", "jinja2")
    assert (declaration.uv_lock, declaration.pyproject) == ("version = 1\n", pyproject)


def test_a_pyproject_without_dependencies_declares_nothing(tmp_path):
    assert read_declaration(write(tmp_path, {"pyproject.toml": '[tool.ruff]\nline-length = 100\n'})) is None


def test_equal_declarations_have_equal_digests_and_a_change_changes_it(tmp_path):
    def declared(name, requirements):
        (tmp_path / name).mkdir()
        return read_declaration(write(tmp_path / name, {"requirements.txt": requirements}))

    first, same = declared("a", "netaddr\n"), declared("b", "netaddr  # same\n")
    assert first.digest == same.digest != declared("c", "netaddr==1\n").digest


@pytest.mark.parametrize(
    "files, named",
    [
        ({"requirements.txt": "-r ../../etc/other.txt\n"}, "options are not allowed"),
        ({"requirements.txt": "--index-url https://elsewhere/simple\n"}, "options are not allowed"),
        ({"pyproject.toml": "[project\n"}, "not valid TOML"),
        ({"pyproject.toml": '[project]\ndependencies = "netaddr"\n'}, "must be a list"),
    ],
)
def test_a_bad_declaration_is_refused_with_the_reason(tmp_path, files, named):
    with pytest.raises(DeclarationInvalid, match=named):
        read_declaration(write(tmp_path, files))

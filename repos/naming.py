"""Repository slugs: each one becomes a top-level Python package name and a directory name."""

import importlib.util
import keyword
import re
import sys
import unicodedata

from service.jobs.errors import ValidationError

__all__ = [
    "MAX_SLUG_LENGTH",
    "NAMESPACE_MARKER",
    "RESERVED_NAMESPACES",
    "SLUG_PATTERN",
    "is_installed_module",
    "is_slug_shaped",
    "slugify",
    "validate_slug",
]

MAX_SLUG_LENGTH = 64
SLUG_PATTERN = re.compile(r"[a-z_][a-z0-9_]*")

# Namespaces the service's own jobs use as class-path prefixes (``local/...``, ``extensions/...``,
# system jobs): a repository named like one would claim the same class paths and module names.
RESERVED_NAMESPACES = frozenset({"extensions", "jobsync", "local", "system"})

# Set on the synthetic package modules repos.loader installs, so a loaded repository's own slug
# is not mistaken for an installed module that it would shadow.
NAMESPACE_MARKER = "__jobsync_checkout__"


def is_slug_shaped(slug: object) -> bool:
    """Say whether ``slug`` has the shape of a slug, without the (slower) importability check."""
    return (
        isinstance(slug, str)
        and 0 < len(slug) <= MAX_SLUG_LENGTH
        and SLUG_PATTERN.fullmatch(slug) is not None
        and not keyword.iskeyword(slug)
    )


def validate_slug(slug: str) -> str:
    """Return ``slug`` if it can name a repository package; raise ValidationError on "slug" if not."""
    if not isinstance(slug, str) or not slug:
        raise ValidationError({"slug": ["A slug is required."]})
    if len(slug) > MAX_SLUG_LENGTH:
        raise ValidationError({"slug": [f"A slug has at most {MAX_SLUG_LENGTH} characters."]})
    if SLUG_PATTERN.fullmatch(slug) is None:
        raise ValidationError(
            {"slug": ["Use lowercase letters, digits and underscores, not starting with a digit."]}
        )
    if keyword.iskeyword(slug) or keyword.issoftkeyword(slug):
        raise ValidationError({"slug": [f"{slug!r} is a Python keyword."]})
    if slug in RESERVED_NAMESPACES:
        reserved = ", ".join(sorted(RESERVED_NAMESPACES))
        raise ValidationError({"slug": [f"{slug!r} is reserved for jobsync's own jobs ({reserved})."]})
    if is_installed_module(slug):
        raise ValidationError({"slug": [f"{slug!r} would shadow the installed Python module of that name."]})
    return slug


def is_installed_module(name: str) -> bool:
    """Say whether ``name`` is a top-level module this interpreter could import (stdlib or installed)."""
    if name in sys.stdlib_module_names or name in sys.builtin_module_names:
        return True
    loaded = sys.modules.get(name)
    if loaded is not None:
        return not getattr(loaded, NAMESPACE_MARKER, None)
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return True


def slugify(name: str) -> str:
    """Turn a display name into a slug that passes ``validate_slug`` (suffixing it when it would clash)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")
    if not slug or slug[0].isdigit():
        slug = f"repo_{slug}".rstrip("_")
    slug = slug[: MAX_SLUG_LENGTH - len("_jobs")].rstrip("_")
    taken = slug in RESERVED_NAMESPACES or is_installed_module(slug)
    if keyword.iskeyword(slug) or keyword.issoftkeyword(slug) or taken:
        slug = f"{slug}_jobs"
    return slug

"""Which objects a job hook or job button applies to: content types and object keys."""

from __future__ import annotations

#: The width of the object type and id columns (ObjectChangeEvent, JobResult).
KEY_LENGTH = 100


def content_type_matches(content_type: str, object_type: str) -> bool:
    """Tell whether ``content_type`` covers ``object_type``; a bare model name matches on its model."""
    wanted, given = content_type.strip().lower(), object_type.strip().lower()
    if "." in wanted and "." in given:
        return wanted == given
    return wanted.rpartition(".")[2] == given.rpartition(".")[2]


def covers(content_types: list[str], object_type: str) -> bool:
    return any(content_type_matches(content_type, object_type) for content_type in content_types)

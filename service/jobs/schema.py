"""Validate input against a stored variable schema, without importing the job's code.

The service process never imports repository code, so the API, UI and scheduler check input
with variables rebuilt from the schema that discovery recorded. The worker validates again
with the real class before running.
"""

from __future__ import annotations

from typing import Any

from service.jobs import variables as variables_module
from service.jobs.errors import ValidationError
from service.jobs.variables.base import Variable

UNKNOWN_FIELD_MESSAGE = "Unknown field."


def variable_from_schema(item: dict[str, Any]) -> Variable:
    """Rebuild one variable from its ``schema()``; an unknown type accepts any value."""
    variable_class = getattr(variables_module, item.get("type", ""), None)
    options = {key: value for key, value in item.items() if key not in ("name", "type")}
    if not (isinstance(variable_class, type) and issubclass(variable_class, Variable)):
        variable_class, options = Variable, {"required": False}
    try:
        variable = variable_class(**options)
    except TypeError:  # a schema written by another version: keep the common options only
        common = ("default", "description", "label", "required")
        variable = variable_class(**{key: options[key] for key in common if key in options})
    variable.name = item["name"]
    return variable


def validate_with_schema(
    schema: list[dict[str, Any]],
    data: dict | None,
    files: dict | None = None,
) -> dict[str, Any]:
    """Return cleaned values for ``data``; raises ValidationError naming every bad field."""
    if data is not None and not isinstance(data, dict):
        raise ValidationError({"data": ["Expected an object mapping field names to values."]})
    given = {**(data or {}), **(files or {})}
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    names = set()
    for item in schema:
        variable = variable_from_schema(item)
        names.add(variable.name)
        try:
            cleaned[variable.name] = variable.clean(given.get(variable.name))
        except ValueError as exc:
            errors[variable.name] = [str(exc)]
    for name in given.keys() - names:
        errors[str(name)] = [UNKNOWN_FIELD_MESSAGE]
    if errors:
        raise ValidationError(errors)
    return cleaned

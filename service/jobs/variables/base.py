"""The ``Variable`` base: one job input, its schema and its cleaning rules."""

import json
from typing import Any

REQUIRED_MESSAGE = "This field is required."


def pretty_name(name: str | None) -> str:
    """Turn ``site_name`` into ``Site name`` for a default label, as Django forms do."""
    return (name or "").replace("_", " ").capitalize()


_JSON_SCALARS = (str, int, float, bool, type(None))


def jsonable(value: Any) -> Any:
    """Return ``value`` if JSON accepts it, else its string form, so schemas always serialise."""
    if type(value) in _JSON_SCALARS:  # most values: no need to try dumping them
        return value
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


class Variable:
    """One input of a job; subclasses convert and check a raw value in ``to_python``/``validate``.

    ``name`` is filled in by Python when the variable is assigned as a class attribute of a job.
    """

    empty_values: tuple = (None, "", [], ())

    def __init__(
        self,
        label: str | None = None,
        description: str = "",
        default: Any = None,
        required: bool = True,
        widget: Any = None,
    ):
        # Nautobot's ScriptVariable order, so ``StringVar("Site", "Where")`` means the same there and here.
        self.default = default
        self.description = description
        self.label = label or None
        self.required = required
        self.widget = widget  # kept for code that reads it; jobsync's forms choose their own widgets
        self.name: str | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name or '(unbound)'}>"

    def clean(self, value: Any) -> Any:
        """Return the Python value for raw input; raises ValueError with a human message."""
        if self.is_empty(value):
            return self.missing_value()
        value = self.to_python(value)
        if self.is_empty(value):
            return self.missing_value()
        self.validate(value)
        return value

    def is_empty(self, value: Any) -> bool:
        """Tell whether ``value`` counts as "not given" for this variable."""
        return any(
            value is empty or (type(value) is type(empty) and value == empty) for empty in self.empty_values
        )

    def missing_value(self) -> Any:
        """Return the default (cleaned) for a missing value; raises when required and no default."""
        if self.default is not None:
            return self.to_python(self.default)
        if self.required:
            raise ValueError(REQUIRED_MESSAGE)
        return self.empty_value()

    def empty_value(self) -> Any:
        """Return what an optional, missing, default-less variable becomes."""
        return None

    def to_python(self, value: Any) -> Any:
        """Convert a non-empty raw value to its Python type; raises ValueError when it cannot."""
        return value

    def validate(self, value: Any) -> None:
        """Check a converted value against the variable's constraints; raises ValueError."""

    def schema(self) -> dict[str, Any]:
        """Describe the variable as a JSON-serialisable dict for the API, UI and discovery."""
        return {
            "name": self.name,
            "type": type(self).__name__,
            "label": self.label or pretty_name(self.name),
            "description": self.description,
            "required": self.required,
            "default": jsonable(self.default),
            **{key: jsonable(value) for key, value in self.schema_extra().items()},
        }

    def schema_extra(self) -> dict[str, Any]:
        """Return the type-specific attributes added to ``schema()``."""
        return {}


#: Nautobot's name for the variable base class.
ScriptVariable = Variable


def is_variable(obj: Any) -> bool:
    """Tell whether ``obj`` is a job variable, as Nautobot's ``is_variable`` does."""
    return isinstance(obj, Variable)

"""Variables holding one plain value: text, numbers, booleans and JSON."""

import json
import re
from typing import Any

from .base import Variable

_TRUE_STRINGS = frozenset({"true", "1", "yes", "on", "t", "y"})
_FALSE_STRINGS = frozenset({"false", "0", "no", "off", "f", "n"})


def _as_text(value: Any) -> str:
    """Convert scalar input to stripped text, refusing containers a form could never send."""
    if isinstance(value, (dict, list, tuple, set, bytes, bytearray)):
        raise ValueError("Enter a text value.")
    return str(value).strip()


class TextVar(Variable):
    """Free-form, possibly multi-line text."""

    def to_python(self, value: Any) -> str:
        return _as_text(value)


class StringVar(Variable):
    """One line of text, optionally bounded in length and matched against a regular expression."""

    def __init__(
        self,
        min_length: int | None = None,
        max_length: int | None = None,
        regex: str | None = None,
        *args: Any,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.min_length = min_length
        self.max_length = max_length
        self.regex = regex
        self._pattern = re.compile(regex) if regex else None

    def to_python(self, value: Any) -> str:
        return _as_text(value)

    def validate(self, value: str) -> None:
        if self.min_length is not None and len(value) < self.min_length:
            raise ValueError(
                f"Ensure this value has at least {self.min_length} characters (it has {len(value)})."
            )
        if self.max_length is not None and len(value) > self.max_length:
            raise ValueError(
                f"Ensure this value has at most {self.max_length} characters (it has {len(value)})."
            )
        # search, not fullmatch: Nautobot's RegexValidator searches, so authors anchor explicitly.
        if self._pattern is not None and not self._pattern.search(value):
            raise ValueError(f"Invalid value. Must match regex: {self.regex}")

    def schema_extra(self) -> dict[str, Any]:
        return {"min_length": self.min_length, "max_length": self.max_length, "regex": self.regex}


class IntegerVar(Variable):
    """A whole number, optionally bounded."""

    def __init__(self, min_value: int | None = None, max_value: int | None = None, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.min_value = min_value
        self.max_value = max_value

    def to_python(self, value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError("Enter a whole number.")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            text = value.strip()
            try:
                return int(text)
            except ValueError:
                pass
        raise ValueError("Enter a whole number.")

    def validate(self, value: int) -> None:
        if self.min_value is not None and value < self.min_value:
            raise ValueError(f"Ensure this value is greater than or equal to {self.min_value}.")
        if self.max_value is not None and value > self.max_value:
            raise ValueError(f"Ensure this value is less than or equal to {self.max_value}.")

    def schema_extra(self) -> dict[str, Any]:
        return {"min_value": self.min_value, "max_value": self.max_value}


class BooleanVar(Variable):
    """A flag; never "required" (False is an answer), so a missing value means False or the default."""

    empty_values = (None, "")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.required = False

    def to_python(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _TRUE_STRINGS:
                return True
            if text in _FALSE_STRINGS:
                return False
        raise ValueError("Enter a valid boolean (true or false).")

    def empty_value(self) -> bool:
        return False


class DryRunVar(BooleanVar):
    """Nautobot 2's dry-run flag: the lifecycle driver fills it with the run's effective dryrun."""

    def __init__(self, *args: Any, **kwargs: Any):
        if len(args) < 2:
            kwargs.setdefault("description", "Check to run job in dryrun mode.")  # Nautobot's default
        super().__init__(*args, **kwargs)


class JSONVar(Variable):
    """Structured data, given as a JSON string or as an already-parsed value."""

    empty_values = (None, "")

    def to_python(self, value: Any) -> Any:
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).decode("utf-8", errors="replace")
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise ValueError("Enter valid JSON.") from None
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise ValueError("Enter valid JSON.") from None
        return value

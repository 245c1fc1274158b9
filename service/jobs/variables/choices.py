"""Variables whose value is picked from a fixed list of choices."""

from collections.abc import Iterable
from typing import Any

from .base import Variable


def normalise_choices(choices: Iterable[Any]) -> list[tuple[Any, Any]]:
    """Return ``[(value, label), ...]``; a bare value becomes its own label."""
    pairs = []
    for choice in choices:
        if isinstance(choice, (list, tuple)) and len(choice) == 2:
            pairs.append((choice[0], choice[1]))
        else:
            pairs.append((choice, choice))
    return pairs


class ChoiceVar(Variable):
    """One value out of ``choices`` (pairs of value and label)."""

    def __init__(self, choices: Iterable[Any], *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.choices = normalise_choices(choices)

    def match(self, value: Any) -> Any:
        """Return the declared choice value for raw input; raises ValueError for anything else."""
        # Compare as text, like Django: a form or query string sends "1" for the choice 1.
        for choice_value, _label in self.choices:
            if value == choice_value or str(value) == str(choice_value):
                return choice_value
        raise ValueError(f"Select a valid choice. {value} is not one of the available choices.")

    def to_python(self, value: Any) -> Any:
        return self.match(value)

    def schema_extra(self) -> dict[str, Any]:
        return {"choices": [[value, label] for value, label in self.choices]}


class MultiChoiceVar(ChoiceVar):
    """Any number of values out of ``choices``; a single value is taken as a list of one."""

    def to_python(self, value: Any) -> list[Any]:
        values = list(value) if isinstance(value, (list, tuple, set)) else [value]
        picked: list[Any] = []
        for item in values:
            choice = self.match(item)
            if choice not in picked:
                picked.append(choice)
        return picked

    def empty_value(self) -> list[Any]:
        return []

"""Variables referring to objects elsewhere and to uploaded files."""

import uuid
from dataclasses import dataclass
from typing import Any

from .base import Variable


@dataclass(frozen=True)
class UploadedFile:
    """A file submitted for a ``FileVar``: its name and its bytes."""

    name: str
    content: bytes

    @property
    def size(self) -> int:
        return len(self.content)

    def read(self) -> bytes:
        """Return the content, so code written for Django's UploadedFile keeps working."""
        return self.content


def model_label(model: Any) -> str | None:
    """Store any ``model`` spelling as text: "dcim.device", a Django-like class, or anything else."""
    if model is None or isinstance(model, str):
        return model
    meta = getattr(model, "_meta", None)
    if isinstance(getattr(meta, "label_lower", None), str):
        return meta.label_lower
    if isinstance(model, type):
        return f"{model.__module__}.{model.__qualname__}"
    return str(model)


def object_reference(value: Any) -> Any:
    """Return an object id (str or int) or a dict of object data; raises ValueError otherwise."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, dict) and value:
        return dict(value)
    raise ValueError("Enter an object id or the object's data.")


class ObjectVar(Variable):
    """A reference to one object of ``model``, by id or as a dict of its data."""

    def __init__(
        self,
        model: Any = None,
        queryset: Any = None,
        display_field: str = "display",
        query_params: dict | None = None,
        null_option: str | None = None,
        *args: Any,
        **kwargs: Any,
    ):
        # Nautobot's order; a 1.x ``queryset`` names its model too.
        super().__init__(*args, **kwargs)
        if model is None and queryset is not None:
            model = getattr(queryset, "model", None)
        self.model = model_label(model)
        self.query_params = dict(query_params or {})
        self.display_field = display_field
        self.null_option = null_option

    def to_python(self, value: Any) -> Any:
        # With a null option the UI posts "null" for "none of them"; that is an empty answer.
        if self.null_option is not None and value == "null":
            return None
        return object_reference(value)

    def schema_extra(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "query_params": self.query_params,
            "display_field": self.display_field,
            "null_option": self.null_option,
        }


class MultiObjectVar(ObjectVar):
    """References to any number of objects of ``model``; a single reference is a list of one."""

    def to_python(self, value: Any) -> list[Any]:
        values = list(value) if isinstance(value, (list, tuple, set)) else [value]
        return [object_reference(item) for item in values]

    def empty_value(self) -> list[Any]:
        return []


class FileVar(Variable):
    """An uploaded file, given as an ``UploadedFile`` or as raw bytes."""

    def to_python(self, value: Any) -> UploadedFile:
        if isinstance(value, (bytes, bytearray, memoryview)):
            value = UploadedFile(name=self.name or "upload", content=bytes(value))
        if not isinstance(value, UploadedFile):
            raise ValueError("No file was submitted. Check the encoding type on the form.")
        if not value.content:
            raise ValueError("The submitted file is empty.")
        return value

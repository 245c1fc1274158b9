"""Jobs started by the service rather than by a person: job hooks (object changes) and job
buttons (a button pressed on an object). They take no user variables, only their payload."""

from typing import Any

from .base import Job
from .variables import Variable

CHANGE_KEYS = ("action", "object_type", "object_id", "prechange", "postchange")
CHANGE_ACTIONS = ("create", "update", "delete")
OBJECT_KEYS = ("object_type", "object_id", "data")


class AttributeDict(dict):
    """A dict whose keys also read as attributes, so Nautobot code's ``obj.name`` works on data."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}") from None


class ChangeRecord(AttributeDict):
    """The change a job hook receives: a dict that also answers attribute access (``change.action``)
    and Nautobot's ``get_snapshots()``."""

    @property
    def changed_object_type(self) -> Any:
        return self.get("object_type")

    @property
    def changed_object_id(self) -> Any:
        return self.get("object_id")

    def get_snapshots(self) -> dict[str, Any]:
        """Return ``{"prechange", "postchange", "differences": {"removed", "added"}}`` as Nautobot does."""
        prechange, postchange = self.get("prechange"), self.get("postchange")
        if prechange and postchange:
            added = {
                key: value
                for key, value in postchange.items()
                if key != "last_updated" and (key not in prechange or prechange[key] != value)
            }
            removed = {key: prechange.get(key) for key in added}
        elif prechange:
            added, removed = None, prechange
        else:
            added, removed = postchange, None
        return {
            "prechange": prechange,
            "postchange": postchange,
            "differences": {"removed": removed, "added": added},
        }


class ChangeRecordVar(Variable):
    """The change record handed to a job hook."""

    def to_python(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ValueError("Expected a change record object.")
        missing = [key for key in CHANGE_KEYS if key not in value]
        if missing:
            raise ValueError(f"The change record lacks {', '.join(missing)}.")
        if value["action"] not in CHANGE_ACTIONS:
            expected = ", ".join(CHANGE_ACTIONS)
            raise ValueError(f"Unknown action {value['action']!r}; expected one of {expected}.")
        for key in ("prechange", "postchange"):
            if value[key] is not None and not isinstance(value[key], dict):
                raise ValueError(f"The change record's {key} must be an object or null.")
        return ChangeRecord(value)


class ObjectData:
    """The object a job button was pressed on: ``object_type``, ``id`` and its ``data``.

    Attribute access falls back to the data, so ``obj.name`` reads ``obj.data["name"]``.
    """

    def __init__(self, object_type: str, object_id: Any, data: dict[str, Any] | None = None):
        self.object_type = object_type
        self.id = object_id
        self.data = dict(data or {})

    @property
    def pk(self) -> Any:
        return self.id

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails; data must exist before it can be searched.
        data = self.__dict__.get("data", {})
        if name in data:
            return data[name]
        raise AttributeError(f"{self.object_type} object has no attribute {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ObjectData):
            return NotImplemented
        return (self.object_type, self.id, self.data) == (other.object_type, other.id, other.data)

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        label = self.data.get("display") or self.data.get("name")
        return str(label) if label else f"{self.object_type} {self.id}"

    def __repr__(self) -> str:
        return f"<ObjectData {self.object_type} {self.id}: {self}>"


class ObjectDataVar(Variable):
    """The object payload handed to a job button."""

    def to_python(self, value: Any) -> ObjectData:
        if isinstance(value, ObjectData):
            return value
        if not isinstance(value, dict):
            raise ValueError("Expected an object with object_type, object_id and data.")
        missing = [key for key in OBJECT_KEYS if key not in value]
        if missing:
            raise ValueError(f"The object lacks {', '.join(missing)}.")
        if not isinstance(value["data"], dict):
            raise ValueError("The object's data must be an object.")
        return ObjectData(str(value["object_type"]), value["object_id"], value["data"])


class JobHookReceiver(Job):
    """Base of jobs run when an object changes; define ``receive_job_hook``."""

    _abstract_job = True
    _receiver_kind = "job_hook"

    @classmethod
    def variables(cls) -> dict[str, Variable]:
        return {}

    @classmethod
    def internal_variables(cls) -> dict[str, Variable]:
        change = ChangeRecordVar()
        change.name = "change"
        return {"change": change}

    def run(self, change: dict[str, Any]) -> Any:  # type: ignore[override]
        change = change if isinstance(change, ChangeRecord) else ChangeRecord(change)
        action = change["action"]
        changed_object = None if action == "delete" else AttributeDict(change["postchange"] or {})
        return self.receive_job_hook(change, action, changed_object)

    def receive_job_hook(
        self, change: ChangeRecord, action: str, changed_object: AttributeDict | None
    ) -> Any:
        """Handle one change: ``changed_object`` is the post-change data with attribute access
        (``changed_object.name``), None on delete as the object is gone (as in Nautobot)."""
        raise NotImplementedError(f"{type(self).__qualname__} must define receive_job_hook()")


class JobButtonReceiver(Job):
    """Base of jobs run by a button on an object; define ``receive_job_button``."""

    _abstract_job = True
    _receiver_kind = "job_button"

    @classmethod
    def variables(cls) -> dict[str, Variable]:
        return {}

    @classmethod
    def internal_variables(cls) -> dict[str, Variable]:
        obj = ObjectDataVar()
        obj.name = "object"
        return {"object": obj}

    def run(self, **data: Any) -> Any:
        return self.receive_job_button(data["object"])

    def receive_job_button(self, obj: ObjectData) -> Any:
        """Handle a button press on ``obj``."""
        raise NotImplementedError(f"{type(self).__qualname__} must define receive_job_button()")

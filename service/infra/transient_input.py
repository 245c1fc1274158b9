"""The transient-input rule: sensitive values and uploaded files never reach the database.

Dramatiq logs message arguments and the database keeps every row, so what a run needs but must not
be stored (sensitive variables, FileVar uploads) waits beside the broker under a TTL'd key and the
worker takes it once (GETDEL). The embedded broker keeps it in this process instead. This module is
the rule's one owner: which runs have such input, how it is packed, kept, taken and dropped.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from typing import Any

#: How long transient input waits for its run before it is dropped (the run then fails, saying so).
TTL_SECONDS = 7 * 24 * 3600


def may_have_transient_input(has_sensitive_variables: bool, variables: list[dict] | None) -> bool:
    """Whether runs of a job with these variables hand input to the worker beside the broker."""
    return bool(has_sensitive_variables) or any(v.get("type") == "FileVar" for v in variables or [])


def pack(sensitive_data: dict | None, files: dict | None) -> dict | None:
    """Return what the worker needs but the database must not keep, as JSON-ready data."""
    if not sensitive_data and not files:
        return None
    encoded = {
        name: {
            "name": getattr(upload, "name", name),
            "content": base64.b64encode(getattr(upload, "content", upload)).decode(),
        }
        for name, upload in (files or {}).items()
    }
    return {"data": sensitive_data or None, "files": encoded}


def unpack_files(transient: dict) -> dict[str, Any]:
    """Return a packed input's uploads as ``UploadedFile`` objects, by field name."""
    from service.jobs import UploadedFile

    return {
        field: UploadedFile(name=item["name"], content=base64.b64decode(item["content"]))
        for field, item in (transient.get("files") or {}).items()
    }


def _key(job_result_id) -> str:
    return f"jobsync:sensitive:{job_result_id}"


class TransientInputStore:
    """Keeps packed input for runs: in Redis when the broker has a client, else in this process."""

    def __init__(self, broker):
        self.client = getattr(broker, "client", None)
        self._local: dict[str, dict] = {}
        self._lock = threading.Lock()

    def stash(self, job_result_id: uuid.UUID, packed: dict) -> None:
        if self.client is None:
            with self._lock:
                self._local[str(job_result_id)] = packed
        else:
            self.client.set(_key(job_result_id), json.dumps(packed), ex=TTL_SECONDS)

    def take(self, job_result_id: uuid.UUID) -> dict | None:
        """Return and forget the input kept for a run, if any."""
        if self.client is None:
            with self._lock:
                return self._local.pop(str(job_result_id), None)
        raw = self.client.getdel(_key(job_result_id))
        return json.loads(raw) if raw is not None else None

    def stashed_ids(self) -> list[str]:
        """Return the ids of every run whose input is kept here (for housekeeping's sweep)."""
        if self.client is None:
            with self._lock:
                return list(self._local)
        prefix = len(_key(""))
        return [key.decode()[prefix:] for key in self.client.scan_iter(match=_key("*"), count=500)]

    def drop(self, job_result_id: uuid.UUID) -> None:
        """Forget the input kept for a run that will never start (cancelled, failed, lost)."""
        self.take(job_result_id)

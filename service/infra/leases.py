"""Database lock leases: a named lock that every host sharing the database sees, with an expiry.

A lease is a row in ``lock_leases``. Taking it is one atomic statement (insert the name, or take
over a row whose lease ran out), so two hosts never both hold it; a holder that crashes frees it
when its lease expires. Holding it needs no open transaction or connection, so a long git fetch
or discovery can run under it. The same code serves PostgreSQL and SQLite.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import delete, update

from service.errors import ServiceError
from service.infra.inserts import insert_once
from service.models import LockLease, utcnow


class LeaseBusy(ServiceError):
    """Another holder kept the lease for longer than we were prepared to wait."""

    code = "lease_busy"


def new_holder() -> str:
    """Return a holder name unique to this call, saying which host and process holds it."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def try_acquire(db, name: str, holder: str, *, seconds: float, now: datetime | None = None) -> bool:
    """Take lease ``name`` for ``seconds`` unless another holder has an unexpired one; say if taken."""
    now = now or utcnow()
    expires_at = now + timedelta(seconds=seconds)
    with db.session() as session:
        row = insert_once(
            session, LockLease, {"name": name, "holder": holder, "expires_at": expires_at}, unique=("name",)
        )
        if row is not None:
            return True
        taken = session.execute(
            update(LockLease)
            .where(LockLease.name == name, (LockLease.expires_at < now) | (LockLease.holder == holder))
            .values(holder=holder, expires_at=expires_at)
            .execution_options(synchronize_session=False)
        ).rowcount
        return taken == 1


def release(db, name: str, holder: str) -> None:
    """Give lease ``name`` back if ``holder`` still holds it (an expired and retaken one is left alone)."""
    with db.session() as session:
        session.execute(
            delete(LockLease)
            .where(LockLease.name == name, LockLease.holder == holder)
            .execution_options(synchronize_session=False)
        )


@contextmanager
def held(
    db,
    name: str,
    *,
    seconds: float,
    wait_seconds: float,
    poll_seconds: float = 0.1,
    on_wait: Callable[[], None] | None = None,
) -> Iterator[str]:
    """Hold lease ``name`` for the block, waiting up to ``wait_seconds`` for it; yield the holder.

    Raises LeaseBusy when it stays taken. ``on_wait`` is called once if we have to wait.
    """
    holder = new_holder()
    deadline = time.monotonic() + wait_seconds
    waited = False
    while not try_acquire(db, name, holder, seconds=seconds):
        if time.monotonic() >= deadline:
            raise LeaseBusy(f"{name} stayed busy for {wait_seconds:g} s.")
        if not waited and on_wait is not None:
            on_wait()
        waited = True
        time.sleep(poll_seconds)  # polling a row another host holds; its release is not signalled
    try:
        yield holder
    finally:
        release(db, name, holder)

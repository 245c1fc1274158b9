"""Lock leases: one holder at a time across hosts, and a dead holder's lease runs out."""

from datetime import timedelta

import pytest

from service.infra import leases
from service.models import utcnow


def test_a_lease_has_one_holder_until_it_is_released(runtime):
    assert leases.try_acquire(runtime.db, "sync:x", "host-a", seconds=60)
    assert not leases.try_acquire(runtime.db, "sync:x", "host-b", seconds=60)
    leases.release(runtime.db, "sync:x", "host-b")  # not the holder: nothing happens
    assert not leases.try_acquire(runtime.db, "sync:x", "host-b", seconds=60)
    leases.release(runtime.db, "sync:x", "host-a")
    assert leases.try_acquire(runtime.db, "sync:x", "host-b", seconds=60)


def test_an_expired_lease_is_taken_over_and_its_old_holder_cannot_release_it(runtime):
    assert leases.try_acquire(runtime.db, "sync:x", "crashed", seconds=1)
    later = utcnow() + timedelta(seconds=5)
    assert leases.try_acquire(runtime.db, "sync:x", "rescuer", seconds=60, now=later)
    leases.release(runtime.db, "sync:x", "crashed")
    assert not leases.try_acquire(runtime.db, "sync:x", "third", seconds=60)


def test_waiting_for_a_lease_held_too_long_raises_lease_busy(runtime):
    assert leases.try_acquire(runtime.db, "sync:x", "other", seconds=60)
    with pytest.raises(leases.LeaseBusy):
        with leases.held(runtime.db, "sync:x", seconds=60, wait_seconds=0.2):
            pass

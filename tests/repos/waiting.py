"""Wait on a condition with a deadline instead of sleeping a guessed amount."""

import time


def wait_until(condition, *, timeout: float = 10.0, interval: float = 0.01):
    """Return ``condition()``'s first truthy value; fail the test if the deadline passes first."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {condition}")
        time.sleep(interval)

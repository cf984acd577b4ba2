"""One way for tests outside the UI to wait: for a condition, with a deadline that only a
broken program reaches, never for a guessed time (the suite runs under CPU burners)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], seconds: float, what: str) -> None:
    """Poll `condition` until it holds; AssertionError naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds:g} s: {what}"
        time.sleep(0.01)  # a poll interval, not a wait for the thing itself

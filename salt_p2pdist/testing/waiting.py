"""The test kit's one way to wait: poll a check until it holds, or fail at a deadline.

Tests, the demo and the lab wait on real daemons whose events are a second
or more apart: polling costs little, and a check that reads the real state
(a file, a status, an answer) cannot miss an event the way a notification can.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """What was awaited did not happen in time (an AssertionError: in a test it is a failed check)."""


def wait_for(what: str, check: Callable[[], T], *, timeout: float, every: float = 0.5) -> T:
    """Call ``check()`` every ``every`` seconds until it returns something true; return that.

    ``check`` is called at least once, and once more after the deadline has
    passed; then WaitTimeout says what was awaited. Exceptions from
    ``check`` go through at once: a check raises to give up early (e.g. when
    the daemon it waits on died).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)

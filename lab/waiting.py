"""Timing helpers shared by scenarios: when each client finished.

They poll: the lab's events are seconds apart, so a 50 ms poll costs
nothing and adds at most 50 ms to a measured time. To wait for one
condition, scenarios use the test kit's ``wait_for`` with ``every=POLL_S``."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

POLL_S = 0.05


def wait_exits(
    procs: Mapping[str, subprocess.Popen[bytes]], *, start: float, timeout: float
) -> dict[str, float | None]:
    """Seconds from ``start`` until each named process exited with status 0.

    None for a process that failed or was still running at the timeout.
    """
    times: dict[str, float | None] = {}
    pending = dict(procs)
    while pending and time.monotonic() - start < timeout:
        for name, proc in list(pending.items()):
            code = proc.poll()
            if code is not None:
                times[name] = time.monotonic() - start if code == 0 else None
                del pending[name]
        time.sleep(POLL_S)
    times.update({name: None for name in pending})
    return times


def wait_markers(
    markers: Mapping[str, Path], *, start: float, timeout: float,
    alive: Callable[[str], bool] = lambda _name: True,
) -> dict[str, float | None]:
    """Seconds from ``start`` until each named marker file appeared.

    ``alive(name)`` false means that client's process died: it is given up
    at once instead of waiting for the timeout.
    """
    times: dict[str, float | None] = {}
    pending = dict(markers)
    while pending and time.monotonic() - start < timeout:
        for name, marker in list(pending.items()):
            if marker.exists():
                times[name] = time.monotonic() - start
                del pending[name]
            elif not alive(name):
                times[name] = None
                del pending[name]
        time.sleep(POLL_S)
    times.update({name: None for name in pending})
    return times

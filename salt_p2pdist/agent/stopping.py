"""Stopping the agent without signals, the same way on Windows and on Linux.

A signal is no way to stop the agent on Windows: ``os.kill(pid, 15)`` there is
``TerminateProcess``, so no resume data would be saved and every restart
would re-check all staged downloads. The agent is asked through its own API
instead (``POST /v1/shutdown`` with the token from ``agent.json``) and stops
exactly as on SIGTERM. Only when it does not answer or does not exit in time
is the process terminated, and only after checking that the pid in
``agent.json`` still names the agent that wrote it: a pid Windows or Linux
handed to another program since is never touched.

The identity is the process's creation time, recorded at start in
``agent.json`` (``started``) and read back through psutil (a Salt
dependency on every platform). Without psutil nothing is ever terminated.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)
POLL_S = 0.1
# psutil reads the creation time from clock ticks (Linux) or a FILETIME (Windows):
# the same process reads back within a few ms; another process started later differs.
SAME_START_S = 0.5
AGENT_MODULE = "salt_p2pdist.agent"

try:
    import psutil
except ImportError:  # pragma: no cover - Salt depends on psutil; a bare install may not
    psutil = None


@dataclass(frozen=True)
class StopOutcome:
    """What a stop request achieved, in Salt's terms (``result`` and ``comment``).

    ``result`` is True only when no agent runs any more and none was cut short
    (it saved its state, or there was none running); a terminated agent, or one
    that may still run, is False with the reason.
    """
    result: bool
    comment: str
    was_running: bool
    pid: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"result": self.result, "comment": self.comment, "was_running": self.was_running,
                "pid": self.pid}


def start_time_of(pid: int | None = None) -> float | None:
    """A process's creation time as the OS records it (None: unknown)."""
    if psutil is None:
        return None
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.Error, OSError, ValueError):
        return None


def own_start_time() -> float | None:
    """This process's creation time, for ``agent.json``."""
    return start_time_of(None)


def _process(endpoint: dict[str, Any]) -> Any | None:
    """The psutil process the endpoint names, if it is still that same agent; else None."""
    started = endpoint.get("started")
    if psutil is None or not isinstance(started, int | float) or isinstance(started, bool):
        return None
    try:
        proc = psutil.Process(int(endpoint["pid"]))
        if abs(proc.create_time() - float(started)) > SAME_START_S:
            return None  # the pid was reused by a process started later
        if not any(AGENT_MODULE in part for part in proc.cmdline()):
            return None
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None  # exited; only its parent has not collected it yet
        return proc
    except (psutil.Error, OSError, KeyError, ValueError, TypeError):
        return None


def running(endpoint: dict[str, Any], endpoint_exists: Callable[[], bool]) -> bool:
    """Is the agent that wrote ``endpoint`` still running?

    With its identity known this asks the OS; otherwise (an agent without
    psutil) it reads the agent's last act before it exits: deleting agent.json.
    """
    if psutil is not None and "started" in endpoint and endpoint["started"] is not None:
        return _process(endpoint) is not None
    return endpoint_exists()


def wait_stopped(agents: Iterable[tuple[dict[str, Any], Callable[[], bool]]], timeout: float) -> bool:
    """Wait until every agent has exited (True) or ``timeout`` seconds have passed (False)."""
    pending = list(agents)
    deadline = time.monotonic() + timeout
    while True:
        pending = [a for a in pending if running(*a)]
        if not pending:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)


def terminate_if_ours(endpoint: dict[str, Any], grace: float = 5.0) -> bool:
    """Last resort: end the process, only if it is still the agent that wrote ``endpoint``.

    True when it was ours and is gone now. No resume data is saved: the next
    start re-checks staged downloads, as after a crash.
    """
    proc = _process(endpoint)
    if proc is None:
        return False
    log.warning("p2pdist agent (pid %s) did not stop when asked: terminating it", proc.pid)
    for end in (proc.terminate, proc.kill):  # kill: only if terminate was not enough
        try:
            end()
            proc.wait(grace)
            break
        except psutil.TimeoutExpired:
            continue
        except (psutil.Error, OSError):
            break
    return _process(endpoint) is None

"""Find and stop p2pdist agents started under a directory.

Agents are detached from the Salt daemons on purpose (they outlive minion
restarts), so stopping a throwaway master and minions does not stop them:
tests and the demo call :func:`stop_agents_under` when they tear down.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from pathlib import Path

from salt_p2pdist.testing.waiting import WaitTimeout, wait_for


def _is_agent(pid: int) -> bool:
    # agent.json outlives a killed agent; never signal a pid reused by another program.
    try:
        return b"salt_p2pdist.agent" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def agent_pids(root: Path) -> list[int]:
    pids = []
    for endpoint in root.rglob("agent.json"):
        try:
            pid = int(json.loads(endpoint.read_text())["pid"])
        except (OSError, ValueError, KeyError):
            continue
        if _is_agent(pid):
            pids.append(pid)
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie child of ours counts as gone
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True


def stop_agents_under(root: Path, grace: float = 15) -> None:
    """SIGTERM every agent (they save resume data), SIGKILL stragglers."""
    pids = agent_pids(root)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    with contextlib.suppress(WaitTimeout):  # stragglers are killed below
        wait_for("the agents to exit", lambda: not any(_alive(p) for p in pids), timeout=grace, every=0.1)
    for pid in pids:
        if _alive(pid) and _is_agent(pid):
            os.kill(pid, signal.SIGKILL)

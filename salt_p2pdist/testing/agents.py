"""Find and stop p2pdist agents started under a directory.

Agents are detached from the Salt daemons on purpose (they outlive minion
restarts), so stopping a throwaway master and minions does not stop them:
tests and the demo call :func:`stop_agents_under` when they tear down. They
are asked through their API, as ``p2pdist.stop_agent`` does (agent/stopping.py);
a stale ``agent.json`` never gets its pid signalled.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from salt_p2pdist.agent import stopping
from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.core.errors import P2PDistError

UNREACHABLE_GRACE_S = 2.0  # an agent that cannot be asked (another network namespace, hung)


def _endpoints(root: Path) -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in root.rglob("agent.json"):
        try:
            found.append((path, dict(json.loads(path.read_text()))))
        except (OSError, ValueError):
            continue
    return found


def agent_pids(root: Path) -> list[int]:
    """Pids of the agents under ``root`` that still run (stale agent.json files left out)."""
    return [int(ep["pid"]) for path, ep in _endpoints(root) if stopping.running(ep, path.exists)]


def stop_agents_under(root: Path, grace: float = 15) -> None:
    """Ask every agent to stop (they save resume data), then terminate stragglers that are ours."""
    endpoints = _endpoints(root)
    asked, unasked = [], []
    for path, ep in endpoints:
        try:
            AgentClient(path.parent, path.parent.name).call("POST", "/shutdown", timeout=5)
            asked.append((ep, path.exists))
        except P2PDistError:
            unasked.append((ep, path.exists))
    stopping.wait_stopped(unasked, UNREACHABLE_GRACE_S)
    stopping.wait_stopped(asked, grace)
    stragglers = [ep for path, ep in endpoints if stopping.running(ep, path.exists)]
    if stragglers:  # at once: each may take seconds to exit
        with ThreadPoolExecutor(max_workers=len(stragglers)) as pool:
            list(pool.map(stopping.terminate_if_ours, stragglers))

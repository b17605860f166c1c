"""Removing p2pdist from a minion: agent stopped, schedules gone, state directory deleted.

The copies already delivered at their destinations are the admin's files and
stay, unless ``purge`` asks the agent to delete them first. Works the same on
Windows: the state directory is deleted only after the agent has exited, as
an open file would keep it there.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.core.errors import P2PDistError


def held_copies(agent: AgentClient) -> dict[str, str]:
    """dist_id -> dest of what the running agent holds; {} when it is not running."""
    if not agent.alive():
        return {}
    return {d: str(s.get("dest") or "") for d, s in agent.call("GET", "/dists").items()}


def uninstall(agent: AgentClient, state_dir: Path, purge: bool,
              delete_schedule: Callable[[str], Any], schedules: list[str]) -> dict[str, Any]:
    held: dict[str, str] = {}
    if purge and any((state_dir / "dists").glob("*/order.json")):
        agent.ensure()  # only the agent knows which files at dest are its own
    running = agent.alive()
    if running:
        held = held_copies(agent)
        if purge:
            for dist_id in held:
                agent.call("DELETE", f"/dists/{dist_id}?remove_data=1")
    # The beacon and the schedules go before the agent stops: the beacon has a stopped agent
    # that still holds distributions started again at its next tick (and so would the keepalive).
    for name in schedules:
        delete_schedule(name)
    if running:
        agent.stop()
    if agent.alive():
        raise P2PDistError("the p2pdist agent did not stop; its beacon and schedules are removed, its "
                           "state directory is kept. Stop it (its pid is in the state directory's "
                           "agent.json) and run p2pdist.uninstall again")
    if state_dir.exists():
        shutil.rmtree(state_dir)
    return {"result": True, "agent_stopped": True, "schedules_removed": schedules,
            "state_dir_removed": str(state_dir),
            ("copies_removed" if purge else "copies_kept"): sorted(set(held.values()))}

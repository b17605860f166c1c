"""What this minion holds and its agent: status, keeping the agent up, removing, stopping, uninstalling."""

from __future__ import annotations

import time
from typing import Any

from salt_p2pdist.agent import uninstall as uninstalling
from salt_p2pdist.core import lifecycle, present
from salt_p2pdist.core.errors import NotFound, P2PDistError
from salt_p2pdist.core.reports import REPORT_TAG_PREFIX
from salt_p2pdist.minion.host import Minion
from salt_p2pdist.minion.policysync import sync_policy
from salt_p2pdist.minion.reporting import BEACON_NAME, KEEPALIVE_NAME, SCHEDULE_NAME


def status(minion: Minion, dist_id: str = "", verbose: bool = False) -> Any:
    """All distributions in a few fields (``verbose``: in full), or one in full; raises when unknown."""
    agent = minion.agent()
    # Not alive(): its 3 s would call a busy agent (a loaded host) "not running".
    if not agent.has_process():
        if dist_id:
            raise P2PDistError("the p2pdist agent is not running")
        return {}
    found = agent.call("GET", f"/dists/{dist_id}" if dist_id else "/dists")
    if verbose or dist_id:
        return found
    return {d: present.compact_transfer(s) for d, s in found.items()}


def ensure_agent(minion: Minion) -> dict[str, Any]:
    """Start the agent if it holds distributions and is not running; bring its policy up to date."""
    held = len(minion.held_on_disk())
    agent = minion.agent()
    started = False
    if held and not agent.alive():
        agent.ensure()
        started = True
    policy_error = sync_policy(minion, agent) if agent.alive() else ""
    return {"result": True, "started": started, "distributions": held,
            **({"policy_error": policy_error} if policy_error else {})}


def policy(minion: Minion) -> dict[str, Any]:
    """The share policy in force and where each value came from; ``result`` False if pillar's is refused."""
    agent = minion.agent()
    agent.ensure()
    error = sync_policy(minion, agent)
    return {"result": not error, **agent.call("GET", "/policy"),
            **({"error": f"pillar policy refused, the last valid one stays: {error}"} if error else {})}


def remove(minion: Minion, dist_id: str, purge: bool) -> dict[str, Any]:
    """Stop sharing ``dist_id`` (``purge``: delete its copy at dest too); the master learns at once."""
    if not dist_id.isalnum():
        raise P2PDistError(f"{dist_id!r} is not a distribution id (16 hex digits, "
                           "as salt-run p2pdist.status lists them)")
    gone = {"result": True, "dist_id": dist_id, "comment": "not held on this minion"}
    agent = minion.agent()
    try:
        # A stopped agent may still hold it on disk and would resume it: start it.
        if dist_id in minion.held_on_disk():
            agent.ensure()
        elif not agent.alive():
            return gone
        removed = agent.call("DELETE", f"/dists/{dist_id}?remove_data={'1' if purge else '0'}")
    except NotFound:
        return gone
    report = {"minion": minion.id, "ts": removed.get("as_of") or time.time(), "dists": {dist_id: {
        "state": lifecycle.REMOVED, "order_id": removed.get("order_id", "")}}}
    minion.salt.fire_master(report, REPORT_TAG_PREFIX + minion.id)
    return {"result": True, **removed}


def wake(minion: Minion, dist_id: str) -> dict[str, Any]:
    """Share a quiet distribution again (the master woke its swarm for a new target)."""
    if dist_id not in minion.held_on_disk():
        return {"result": True, "dist_id": dist_id, "comment": "not held on this minion"}
    agent = minion.agent()
    agent.ensure()
    try:
        woken = agent.call("POST", f"/dists/{dist_id}/wake")
    except NotFound:
        return {"result": True, "dist_id": dist_id, "comment": "not held on this minion"}
    return {"result": True, "dist_id": dist_id, "state": woken.get("state")}


def prioritize(minion: Minion, dist_id: str, level: str) -> dict[str, Any]:
    """Keep the master's new priority for ``dist_id`` in the agent's record (if held here)."""
    if dist_id not in minion.held_on_disk():
        return {"result": True, "dist_id": dist_id, "comment": "not held on this minion"}
    agent = minion.agent()
    agent.ensure()
    try:
        answer = agent.call("POST", f"/dists/{dist_id}/priority", {"priority": level})
    except NotFound:
        return {"result": True, "dist_id": dist_id, "comment": "not held on this minion"}
    return {"result": True, "dist_id": dist_id, "priority": answer.get("priority")}


def stop_agent(minion: Minion) -> dict[str, Any]:
    """Stop the agent (it saves resume data first); ``result`` False when the stop could not be confirmed."""
    return minion.agent().stop_outcome().as_dict()


def uninstall(minion: Minion, purge: bool) -> dict[str, Any]:
    """Agent stopped, beacon, schedules and state directory gone; delivered copies stay unless ``purge``."""
    def unhook(name: str) -> None:  # the report beacon first: it asks for a stopped agent's restart
        (minion.salt.delete_beacon if name == BEACON_NAME else minion.salt.delete_schedule)(name)

    return uninstalling.uninstall(minion.agent(), minion.settings().state_dir, purge, unhook,
                                  [BEACON_NAME, SCHEDULE_NAME, KEEPALIVE_NAME])

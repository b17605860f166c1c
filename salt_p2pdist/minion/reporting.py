"""Progress reports to the master, and the schedules that send them and keep the agent up."""

from __future__ import annotations

import time
from typing import Any

from salt_p2pdist.core import lifecycle
from salt_p2pdist.core.errors import P2PDistError
from salt_p2pdist.minion.host import Minion
from salt_p2pdist.minion.policysync import sync_policy

SCHEDULE_NAME = "p2pdist_report"
KEEPALIVE_NAME = "p2pdist_agent"
KEEPALIVE_S = 300


def ensure_reporting(minion: Minion) -> None:
    """Report progress to the master on a schedule while transfers are active."""
    jobs = minion.salt.schedules()
    if SCHEDULE_NAME not in jobs:
        minion.salt.add_schedule(SCHEDULE_NAME, function="p2pdist.report",
                                 seconds=minion.settings().report_interval, returner="p2pdist",
                                 return_job=False, persist=True)
    if KEEPALIVE_NAME not in jobs:
        # Keeps the agent (and so seeding) up across reboots and crashes, also
        # when nothing is active and the report schedule is gone. No return:
        # it costs the master nothing.
        minion.salt.add_schedule(KEEPALIVE_NAME, function="p2pdist.ensure_agent",
                                 seconds=KEEPALIVE_S, run_on_start=True, return_job=False,
                                 persist=True)


def report(minion: Minion) -> dict[str, Any]:
    """Every distribution's state on this minion; the report schedule ends once all are settled."""
    agent = minion.agent()
    try:
        agent.ensure()  # the schedule also supervises the agent: restart it if it died
        policy_error = sync_policy(minion, agent)  # pillar changes reach the session on the fly
        # Each distribution's state carries the agent's own stamp (as_of), which
        # the master orders reports and answers by; this one is for older agents.
        ts = time.time()
        dists = agent.call("GET", "/dists")
    except P2PDistError as exc:
        return {"minion": minion.id, "ts": time.time(), "dists": {}, "error": str(exc)}
    if not any(lifecycle.is_active(d["state"]) for d in dists.values()):
        minion.salt.delete_schedule(SCHEDULE_NAME)
    dists.update(replaced_versions(dists))
    # Each distribution's report names the host's site as the master's map
    # (sent with the order) places it, so no site of its own is added here.
    return {"minion": minion.id, "ts": ts, "dists": dists,
            **({"policy_error": policy_error} if policy_error else {})}


def replaced_versions(dists: dict[str, Any]) -> dict[str, Any]:
    """Older versions a placed new one replaced at dest: the master learns they are gone here."""
    gone: dict[str, Any] = {}
    for held in dists.values():
        for old, order_id in (held.get("replaced") or {}).items():
            if old not in dists:
                gone[old] = {"state": lifecycle.REMOVED, "order_id": order_id, "as_of": held.get("as_of")}
    return gone

"""The ``p2pdist`` beacon's work: report progress from inside the salt-minion process.

Why a beacon and not a scheduled job: Salt runs each scheduled job in a new
process (forked on Linux, a fresh interpreter on Windows), and a report every
5 s cost an active minion ~2 % of a core, more than the agent moving the
data. The beacon runs in the minion's own loop: it reads the agent's state
over loopback (milliseconds) and hands the report to the minion's existing
connection to the master (``event.fire_master``; the master names the sender
by its key, so one minion cannot report for another).

It reports while a transfer is active, on a heartbeat the master sets from how
many minions are active (core/pacing.py, carried by each order), and at the
next tick when anything else changed (a transfer settled, a copy was removed,
the agent restarted); an idle minion sends nothing. A report carries only what
the master keeps of each distribution (core/reports.lean_dists). It never
starts the agent itself (that can take seconds and would stall the minion):
when the agent is down while it holds distributions, it has the minion run
the ``p2pdist_agent`` schedule job now.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from salt_p2pdist.core import lifecycle
from salt_p2pdist.core.errors import AgentUnavailable, P2PDistError
from salt_p2pdist.core.pacing import heartbeat_due
from salt_p2pdist.core.reports import REPORT_TAG_PREFIX, lean_dists
from salt_p2pdist.minion.host import Minion
from salt_p2pdist.minion.reporting import KEEPALIVE_NAME, PaceFile, snapshot

AGENT_TIMEOUT_S = 2.0  # the minion's loop waits this long at most for a hung agent
RESTART_EVERY_S = 30.0  # asks for a restart of a down agent at most this often
POLICY_EVERY_S = 60.0  # the pillar's policy is handed over when it changes, and this often


@dataclass
class BeaconMemory:
    """What the beacon remembers between calls (kept in the loader's ``__context__``)."""

    sent: str = ""  # the settled states of the last report sent
    sent_at: float = float("-inf")  # when it was sent
    restart_asked: float = float("-inf")
    policy_seen: str = ""  # the pillar section last handed to the agent
    policy_synced: float = float("-inf")
    pace: PaceFile = field(default_factory=PaceFile)  # the master's heartbeat, read when it changes


def settled_states(dists: dict[str, Any]) -> str:
    """What must reach the master when it changes: each distribution's state and error, and the
    order it answers. A new order can end in the state the last report had (a cancelled copy
    pushed again, found whole at dest between two ticks): the master waits for a report naming it."""
    return json.dumps({d: [v.get("state"), v.get("error"), v.get("order_id")] for d, v in dists.items()
                       if isinstance(v, dict)}, sort_keys=True)


def policy_due(minion: Minion, memory: BeaconMemory, now: float) -> bool:
    """Hand the agent the pillar's policy when the pillar changed, and every POLICY_EVERY_S."""
    seen = json.dumps(minion.pillar.get("p2pdist"), sort_keys=True, default=str)
    if seen == memory.policy_seen and now - memory.policy_synced < POLICY_EVERY_S:
        return False
    memory.policy_seen, memory.policy_synced = seen, now
    return True


def tick(minion: Minion, memory: BeaconMemory, now: float) -> bool:
    """One beacon call: send a report if one is due. True when a report was sent."""
    try:
        report = snapshot(minion, timeout=AGENT_TIMEOUT_S, policy=policy_due(minion, memory, now))
    except AgentUnavailable:
        agent = minion.agent()
        if agent.held_on_disk() and now - memory.restart_asked >= RESTART_EVERY_S:
            memory.restart_asked = now
            minion.salt.run_job(KEEPALIVE_NAME)
        memory.policy_seen = ""  # a restarted agent gets the policy again at once
        return False
    except P2PDistError:
        return False
    states = settled_states(report["dists"])
    active = any(lifecycle.is_active(str(d.get("state"))) for d in report["dists"].values()
                 if isinstance(d, dict))
    if states == memory.sent and not (active and heartbeat_due(memory.sent_at, now,
                                                               memory.pace.seconds(minion))):
        return False
    minion.salt.fire_master({**report, "dists": lean_dists(report["dists"])}, REPORT_TAG_PREFIX + minion.id)
    memory.sent, memory.sent_at = states, now
    return True

"""A distribution's life on the master: its swarm goes quiet, and wakes for a new target.

Once every target holds a distribution (the catalog's status rule), the
master sets when its swarm goes quiet: now plus the grace (the push's
``quiet_after``, else ``p2pdist:quiet_after``). The tracker learns that time
and, from then on, answers each holder's announce with ``QUIET_REASON``: the
holder's agent closes the torrent (agent/quieting.py). So no timer runs on
the master, holders that are offline learn it when they return, and a quiet
swarm costs the tracker no announces at all.

A new target (a push, a re-push, a ``p2pdist.present`` that fetches) wakes
it: the tracker serves the holders again and the holders are told through
Salt (``p2pdist.wake``) to share their copies again. Both decisions go into
the audit log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.core import lifecycle, present, status
from salt_p2pdist.core.config import MasterSettings
from salt_p2pdist.core.errors import P2PDistError
from salt_p2pdist.master import audit
from salt_p2pdist.master.catalog import Catalog
from salt_p2pdist.master.minions import Minions

log = logging.getLogger(__name__)
WAKE = "p2pdist.wake"
NEVER = -1.0  # stored quiet_after: this distribution's swarm never goes quiet


def stored_grace(grace: float | None) -> float:
    """The catalog's quiet_after for a push's grace in seconds (None: never)."""
    return NEVER if grace is None else grace


def grace_of(cfg: MasterSettings, dist: dict[str, Any]) -> float | None:
    """Seconds a complete distribution's swarm stays up; None: never quiet."""
    stored = dist.get("quiet_after")
    if stored is None:  # pushed before distributions had a life
        return cfg.quiet_after_s
    return None if stored < 0 else float(stored)


def holders(rows: Iterable[dict[str, Any]]) -> list[str]:
    """Hosts that hold a verified copy under the master's current order."""
    return sorted(r["minion"] for r in rows if lifecycle.is_complete(status.current_state(r)))


def note_complete(cfg: MasterSettings, origin: AgentClient, catalog: Catalog, dist_ids: Iterable[str],
                  now: float | None = None) -> list[str]:
    """Set the quiet time of each distribution every target now holds; the ids set."""
    now = time.time() if now is None else now
    scheduled = []
    for dist_id in sorted(set(dist_ids)):
        dist = catalog.distribution(dist_id)
        if dist is None or dist["cancelled"] or dist["quiet_at"] is not None:
            continue
        grace = grace_of(cfg, dist)
        rows = catalog.host_rows(dist_id)
        if grace is None or not rows or len(holders(rows)) != len(rows):
            continue
        lifecycle.check_swarm_move(dist_id, lifecycle.SWARM_ACTIVE, lifecycle.SWARM_COMPLETE)
        quiet_at = now + grace
        try:  # the tracker first: a quiet time it does not know would be a lie in status
            origin.call("POST", f"/swarms/{dist_id}", {"quiet_at": quiet_at}, timeout=10)
        except P2PDistError as exc:
            log.error("p2pdist: cannot tell the tracker when %s goes quiet: %s", dist_id, exc)
            continue
        catalog.set_quiet_at(dist_id, quiet_at)
        audit.record(cfg, "quiet", "p2pdist", "scheduled", id=dist_id, holders=len(rows),
                     quiet_after_s=grace, quiet_at=present.iso(quiet_at))
        scheduled.append(dist_id)
    return scheduled


def wake(cfg: MasterSettings, origin: AgentClient, minions: Minions, catalog: Catalog, dist_id: str,
         *, user: str, why: str, ordered: Iterable[str] = (), now: float | None = None) -> list[str]:
    """Before a new target fetches: the tracker serves the holders again, the holders reopen.

    Holders in ``ordered`` get an order, which wakes them too. Returns the
    holders told to wake; nothing happens if the swarm is not set to go quiet.
    """
    dist = catalog.distribution(dist_id)
    if dist is None or dist["cancelled"] or dist["quiet_at"] is None:
        return []
    now = time.time() if now is None else now
    was = lifecycle.swarm_phase(all_hold=True, quiet_at=dist["quiet_at"], now=now)
    lifecycle.check_swarm_move(dist_id, was, lifecycle.SWARM_ACTIVE)
    origin.call("POST", f"/swarms/{dist_id}", {"quiet_at": None}, timeout=10)  # before they announce
    catalog.set_quiet_at(dist_id, None)
    told = sorted(set(holders(catalog.host_rows(dist_id))) - set(ordered))
    if told:
        minions.send(told, WAKE, {"dist_id": dist_id})
    audit.record(cfg, "wake", user, "ok", id=dist_id, was=was, why=why, holders=told)
    log.info("p2pdist: woke %s (%s, was %s); %d holders told", dist_id, why, was, len(told))
    return told

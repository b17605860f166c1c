"""Changing a distribution's priority after the push (``salt-run p2pdist.priority``).

The catalog keeps the level; the tracker learns it at once (it decides which
swarms are held back on each WAN link, core/priority.py) and the origin's
record with it; the targets are told through Salt so their records say it
too. A target that is offline keeps the old level in its record until the
next order, which does not matter for the WAN: the tracker's word holds
torrents back, not the agent's record. Written to the audit log.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from salt_p2pdist.core import arguments as args_check
from salt_p2pdist.core import priority
from salt_p2pdist.core.errors import NotFound, P2PDistError
from salt_p2pdist.master.caller import Caller, failed

log = logging.getLogger(__name__)
PRIORITIZE = "p2pdist.prioritize"  # the execution module function each target is sent
ARGS = {"id": args_check.DIST_ID,
        "level": args_check.Spec(str, required=True, hint=" or ".join(priority.LEVELS))}


def change(caller: Caller, dist_id: str, level: str) -> dict[str, Any]:
    """Set ``dist_id``'s level, or refuse with nothing changed (refusals are audited too)."""
    catalog = caller.catalog()
    dist = catalog.distribution(dist_id)
    if dist is None:
        return failed(f"no distribution {dist_id!r} on this master; list them with: salt-run p2pdist.status")
    was = priority.level_of(dist.get("priority"))
    targets = catalog.targets(dist_id)
    try:
        new = priority.parse(level)
        caller.authorize_change(Path(dist["source"]), targets)
    except P2PDistError as exc:
        caller.audit("priority", f"refused: {exc}", id=dist_id, was=was, asked=level)
        return failed(f"p2pdist.priority refused: {exc}")
    catalog.set_priority(dist_id, new)
    tracker = "told"
    try:
        caller.origin().call("POST", f"/swarms/{dist_id}", {"priority": new}, timeout=10)
    except NotFound:
        tracker = "no swarm (cancelled, or not seeded)"
    except P2PDistError as exc:  # the catalog has it; a push or the next change tells the tracker
        log.error("p2pdist: cannot tell the tracker %s's priority: %s", dist_id, exc)
        tracker = f"not reached: {exc}"
    if targets and not dist["cancelled"]:
        caller.minions.send(targets, PRIORITIZE, {"dist_id": dist_id, "priority": new})
    caller.audit("priority", "ok", id=dist_id, was=was, priority=new, minions=len(targets), tracker=tracker)
    return {"result": True, "id": dist_id, "priority": new, "was": was, "tracker": tracker,
            "minions_told": len(targets) if not dist["cancelled"] else 0}

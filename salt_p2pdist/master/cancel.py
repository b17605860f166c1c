"""Ending a distribution: the master stops seeding it, or every host drops it (cancel)."""

from __future__ import annotations

import logging
from typing import Any

from salt_p2pdist.core import arguments as args_check
from salt_p2pdist.core.errors import P2PDistError
from salt_p2pdist.master import orders
from salt_p2pdist.master.caller import Caller, failed

log = logging.getLogger(__name__)
REMOVE = "p2pdist.remove"
REMOVE_TIMEOUT_S = 30
STOP_ARGS = {"id": args_check.DIST_ID}
ARGS = {"id": args_check.DIST_ID, "purge": args_check.FLAG}


def unknown(dist_id: str) -> dict[str, Any]:
    return failed(f"no distribution {dist_id!r} on this master; list them with: salt-run p2pdist.status")


def stop_seeding(caller: Caller, dist_id: str) -> dict[str, Any]:
    """The master's seeder drops the distribution; the minions' swarm and the tracker go on."""
    if caller.catalog().distribution(dist_id) is None:
        return unknown(dist_id)
    try:
        caller.origin().call("DELETE", f"/dists/{dist_id}?keep_swarm=1")
    except P2PDistError as exc:
        return failed(f"the master's seeder did not stop {dist_id}: {exc}")
    caller.audit("stop_seeding", "ok", id=dist_id)
    return {"result": True, "id": dist_id, "comment": "the master no longer serves this distribution"}


def cancel(caller: Caller, dist_id: str, purge: bool) -> dict[str, Any]:
    """Every target removes the distribution (``purge``: its copy at dest too); the master stops seeding.

    A minion that no longer holds it counts as done; one that does not answer
    is named in ``no_answer``, and the answer has retcode 1.
    """
    catalog = caller.catalog()
    if catalog.distribution(dist_id) is None:
        return unknown(dist_id)
    targets = catalog.targets(dist_id)
    held = caller.hold("cancel", targets, {"id": dist_id, "purge": purge})
    if held is not None:
        return held
    catalog.cancel(dist_id)  # first: a minion that starts now is not ordered again
    ret = caller.minions.run(targets, REMOVE, [dist_id], {"purge": purge}, REMOVE_TIMEOUT_S)
    try:
        caller.origin().call("DELETE", f"/dists/{dist_id}")
    except P2PDistError as exc:
        log.warning("p2pdist: origin did not drop %s: %s", dist_id, exc)
    # Already gone from a minion counts as done; one that did not answer still holds it.
    _accepted, refused, _grains, silent = orders.classify_answers(targets, ret)
    ok = not refused and not silent
    caller.audit("cancel", "ok" if ok else "partly done", id=dist_id, purge=purge,
                 minions=len(targets), refused=sorted(refused), no_answer=sorted(silent),
                 **({"approved_by": caller.approved_by} if caller.approved_by else {}))
    result = {"result": ok, "id": dist_id, "minions": ret, "refused": refused,
              "no_answer": sorted(silent)}
    if not ok:
        result["retcode"] = 1
        result["error"] = (f"{', '.join(sorted([*refused, *silent]))} did not remove {dist_id}; "
                           "they may still hold and share it. Run this cancel again once they "
                           "are back (see the per-minion answers)")
    return result

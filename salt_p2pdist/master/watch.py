"""Reading distributions' progress on the master: the catalog plus the origin's own view.

What ``salt-run p2pdist.status`` shows (and the progress board of ``watch=True``
and ``push wait=True``).
"""

from __future__ import annotations

import time
from typing import Any

from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.core import arguments as args_check
from salt_p2pdist.core import planview, present, priority, progress
from salt_p2pdist.core import status as status_view
from salt_p2pdist.core.errors import P2PDistError
from salt_p2pdist.core.wanlinks import Wan, wan_from_config
from salt_p2pdist.master.approval import ApprovalRule
from salt_p2pdist.master.caller import Caller, failed
from salt_p2pdist.master.catalog import Catalog
from salt_p2pdist.master.terminal import Painter

ARGS = {"id": args_check.TEXT, "watch": args_check.FLAG, "timeout": args_check.SECONDS}


def origin_status(origin: AgentClient, dist_id: str) -> dict[str, Any] | None:
    """What the master's seeder says (served bytes...); None if it does not answer."""
    try:
        return dict(origin.call("GET", f"/dists/{dist_id}", timeout=5))
    except P2PDistError:
        return None


def tracker_status(origin: AgentClient, dist_id: str) -> dict[str, Any] | None:
    """The tracker's table for the swarm: hosts announcing now, announces so far, quiet time."""
    try:
        return dict(origin.call("GET", f"/swarms/{dist_id}", timeout=5))
    except P2PDistError:
        return None


UNDER_WAY = ("active", "pending")  # the states whose finish is expected (the others are settled)


def distribution_views(catalog: Catalog, now: float,
                       dists: list[dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """Every distribution's status view (or those of ``dists``), by id (what the listing and the
    finishes both read)."""
    return {d["id"]: status_view.distribution_view(d, catalog.host_rows(d["id"]), now)
            for d in (catalog.distributions() if dists is None else dists)}


def expected_finishes(catalog: Catalog, wan: Wan, now: float,
                      views: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """For each distribution under way: its remaining time alone, and its expected finish
    given the others by priority (core/priority.expected_finish says what it assumes)."""
    views = distribution_views(catalog, now) if views is None else views
    alone: dict[str, tuple[str, float | None]] = {}
    for dist in catalog.distributions():
        shown = views.get(dist["id"])
        if dist["cancelled"] or shown is None:
            continue
        if shown["distribution"]["state"] in UNDER_WAY:
            alone[dist["id"]] = (priority.level_of(dist.get("priority")),
                                 planview.alone_remaining_s(shown, wan, now))
    finish = priority.expected_finish(alone)
    return {d: {"alone_s": alone[d][1], "expected_finish_s": finish[d],
                "ahead": sorted(o for o, (lv, _a) in alone.items()
                                if priority.rank(lv) > priority.rank(alone[d][0]))} for d in alone}


def views_under_way(catalog: Catalog, now: float, shown: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``shown`` and the views of the other distributions under way: what one distribution's
    expected finish reads. The settled ones are told apart by SQLite's counts, not built."""
    counts = catalog.state_counts()
    others = [d for d in catalog.distributions() if d["id"] != shown["distribution"]["id"]
              and status_view.distribution_state(d, counts.get(d["id"], {}), now) in UNDER_WAY]
    return {**distribution_views(catalog, now, others), shown["distribution"]["id"]: shown}


def view(catalog: Catalog, origin: AgentClient, dist_id: str,
         wan: Wan | None = None) -> dict[str, Any] | None:
    """The status view; with ``wan``, each site's progress beside the planner's bound."""
    dist = catalog.distribution(dist_id)
    if dist is None:
        return None
    now = time.time()
    shown = status_view.distribution_view(dist, catalog.host_rows(dist_id), now,
                                          origin_status(origin, dist_id))
    swarm = tracker_status(origin, dist_id)
    if swarm is not None:
        shown["distribution"].update(announcing=swarm["peers"], announces=swarm["announces"],
                                     origin_seeds=swarm["origin_seeds"], origin=swarm.get("origin"),
                                     held_back=swarm.get("held_back") or {})
    if wan is not None:
        shown["plan"] = planview.progress_against_plan(shown, wan, now)
        if shown["distribution"]["state"] in UNDER_WAY:  # a settled one expects no finish
            shown["distribution"].update(expected_finishes(
                catalog, wan, now, views_under_way(catalog, now, shown)).get(dist_id, {}))
    return shown


def follow(catalog: Catalog, origin: AgentClient, dist_id: str, timeout: int,
           painter: Painter, wan: Wan | None = None) -> dict[str, Any]:
    """Redraw the progress board every second until the distribution settles (or ``timeout``).

    Returns the last view; the board goes to the painter (stderr), never to the
    command's result.
    """
    deadline = time.monotonic() + timeout
    while True:
        v = view(catalog, origin, dist_id, wan)
        assert v is not None
        settled = v["distribution"]["state"] not in ("active", "pending")
        painter.draw(progress.board_lines(v) + planview.status_lines(v.get("plan"), settled),
                     final=settled)
        if settled or time.monotonic() > deadline:
            return v
        time.sleep(1)


def status(caller: Caller, dist_id: str, live: bool, timeout: int) -> Any:
    """One distribution in full (``live``: after following it until it settles), or all in a line each.

    With Salt's ``--out json`` (or yaml...) a document with everything; for
    people, lines. Requests held by the two-person rule are listed too.
    """
    structured = present.is_structured(caller.opts.get("output"))
    catalog = caller.catalog()
    if dist_id:
        wan = wan_from_config(caller.cfg.sites, caller.cfg.hq, caller.cfg.wan)
        if live and catalog.distribution(dist_id) is not None:
            follow(catalog, caller.origin(), dist_id, timeout, Painter(), wan)
        found = view(catalog, caller.origin(), dist_id, wan)
        if found is None:
            return failed(f"no distribution {dist_id!r} on this master; list them with: "
                          "salt-run p2pdist.status")
        return present.for_json(found) if structured else "\n".join(present.detail_lines(found))
    now = time.time()
    wan = wan_from_config(caller.cfg.sites, caller.cfg.hq, caller.cfg.wan)
    views = distribution_views(catalog, now)  # once: the listing and the finishes read the same
    finishes = expected_finishes(catalog, wan, now, views)
    entries = [present.list_entry({**shown["distribution"], **finishes.get(dist_id, {})})
               for dist_id, shown in views.items()]
    # Held by the two-person rule: nothing was sent yet.
    held = {req["id"]: {**req, "state": "awaiting approval"}
            for req in caller.desk().pending(ApprovalRule.from_config(caller.cfg.approval).ttl)}
    if structured:
        return {**{e["id"]: e for e in entries}, **held}
    lines = {rid: f"awaiting approval: {req['action']} by {req['user']} ({'; '.join(req['reasons'])})"
             for rid, req in held.items()}
    listed = present.list_for_humans(entries)
    if not lines:
        return listed
    return {**listed, **lines} if isinstance(listed, dict) else lines

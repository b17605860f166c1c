"""Status views built from catalog rows (pure: no I/O, the clock is passed in).

The status rule (docs/architecture.md): a target's state is what its latest
report says about the master's current order to it; a distribution's state
follows from its targets' states in one function, ``distribution_state``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from salt_p2pdist.core import lifecycle, priority

STALE_AFTER_S = 60.0  # a host silent this long while active shows as stale
# A distribution's states (besides "pending" and "cancelled").
ACTIVE, COMPLETE, WITH_ERRORS, INCOMPLETE = "active", "complete", "finished-with-errors", "incomplete"


def answers_current_order(row: Mapping[str, Any]) -> bool:
    """True if the row's report answers the master's latest order to this target.

    ``current_order`` is the order id the master last sent the target,
    ``order_id`` the one the minion's report (or answer) is about. Catalogs
    and minions from before order ids have neither: they match.
    """
    return bool(row.get("state")) and (row.get("order_id") or "") == (row.get("current_order") or "")


def current_state(row: Mapping[str, Any]) -> str:
    """A target's state under the current order: ``pending`` until it answers that order.

    So a new order (a re-push, a changed dest, a push after a cancel) resets
    the target, whatever it reported before; a removal or a failure reported
    on the current order shows as such.
    """
    return str(row["state"]) if answers_current_order(row) else lifecycle.PENDING


def distribution_state(dist: Mapping[str, Any], counts: Mapping[str, int], now: float | None = None) -> str:
    """A distribution's state from how many targets are in each state (the one rule).

    cancelled (by the admin) > pending (no target) > active (a target still
    pending, working or stale) > complete (every target holds a verified
    copy; ``quiet`` once its swarm's grace has passed, see lifecycle.swarm_phase)
    > finished-with-errors (some failed) > incomplete (the rest were
    removed or cancelled on the host).
    """
    if dist.get("cancelled"):
        return lifecycle.CANCELLED
    states = {s for s, n in counts.items() if n}
    if not states:
        return lifecycle.PENDING
    if states - lifecycle.TERMINAL_STATES:
        return ACTIVE
    if states <= lifecycle.COMPLETE_STATES:
        quiet_at = dist.get("quiet_at")
        return lifecycle.swarm_phase(all_hold=True, quiet_at=quiet_at, now=now if now is not None else 0.0)
    if lifecycle.FAILED in states:
        return WITH_ERRORS
    return INCOMPLETE


def to_order(requested: Iterable[str], rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Whom a push orders: the requested minions and every earlier target without the copy.

    ``rows`` are the distribution's host rows (none after a cancel). A target
    that failed, removed its copy or never answered is ordered again, online
    or not: one that is offline gets it when it starts.
    """
    missing = {r["minion"] for r in rows if not lifecycle.is_complete(current_state(r))}
    return sorted(set(requested) | missing)


SHOWN = ("state", "pieces", "bytes_done", "down_rate", "up_rate", "peers", "downloaded", "uploaded",
         "eta_s", "error", "site", "from_site", "from_remote", "from_origin")  # a host's fields in status


def host_view(row: dict[str, Any], now: float, stale_after: float = STALE_AFTER_S,
              quiet: bool = False) -> dict[str, Any]:
    """``quiet``: the distribution's swarm is quiet, so a holder shows so (its agent closes the
    torrent at its next announce, and sends no reports while nothing is active)."""
    if not answers_current_order(row):  # a report on an earlier order says nothing now
        view = dict.fromkeys(SHOWN)
        view["state"], view["age_s"] = lifecycle.PENDING, None
        return view
    view = {k: row.get(k) for k in SHOWN}
    state = view["state"] = str(row["state"])
    if quiet and lifecycle.is_complete(state):
        view["state"] = lifecycle.QUIET
    ts = row.get("ts")
    view["age_s"] = round(now - ts, 1) if ts else None
    if ts and lifecycle.is_active(state) and now - ts > stale_after:
        view["state"] = "stale"
    return view


def distribution_view(dist: dict[str, Any], rows: list[dict[str, Any]], now: float,
                      origin: dict[str, Any] | None = None) -> dict[str, Any]:
    # Each host's view once (10,000 of them for a large push): the state counts come from
    # them, and a quiet swarm then shows its holders as quiet.
    hosts = {r["minion"]: host_view(r, now) for r in rows}
    state = distribution_state(dist, Counter(h["state"] for h in hosts.values()), now)
    if state == lifecycle.SWARM_QUIET:
        for h in hosts.values():
            if lifecycle.is_complete(h["state"]):
                h["state"] = lifecycle.QUIET
    states = [h["state"] for h in hosts.values()]
    done = sum(1 for s in states if lifecycle.is_complete(s))
    total = dist["total_bytes"]
    rate = sum(h["down_rate"] or 0 for h in hosts.values())
    left = sum(total - (h["bytes_done"] or 0) for h in hosts.values()
               if h["state"] not in lifecycle.TERMINAL_STATES)
    peer_bytes = sum(h["downloaded"] or 0 for h in hosts.values())
    origin_up = (origin or {}).get("uploaded")
    summary = {
        "id": dist["id"], "name": dist["name"], "source": dist["source"], "dest": dist["dest"],
        "bytes": total, "created_by": dist["created_by"], "created": dist["created"],
        "state": state, "quiet_at": dist.get("quiet_at"),
        "priority": priority.level_of(dist.get("priority")),
        "targets": len(hosts), "done": done,
        "failed": sum(1 for s in states if s == lifecycle.FAILED),
        "pending": sum(1 for s in states if s == lifecycle.PENDING),
        "stale": sum(1 for s in states if s == "stale"),
        "throughput": rate,
        "eta_s": round(left / rate) if rate and left else (0 if not left else None),
        "downloaded_by_hosts": peer_bytes,
        "served_by_master": origin_up,
        "master_share": round(origin_up / peer_bytes, 3) if origin_up and peer_bytes else None,
    }
    return {"distribution": summary, "sites": site_views(hosts, total), "minions": hosts}


STRAGGLERS_SHOWN = 5


def site_views(hosts: dict[str, dict[str, Any]], total: int) -> dict[str, dict[str, Any]]:
    """Per site: hosts done / total, bytes that came in over the WAN, the slowest hosts."""
    sites: dict[str, dict[str, Any]] = {}
    for minion, h in hosts.items():
        s = sites.setdefault(h.get("site") or "?", {"done": 0, "targets": 0, "wan_in_bytes": 0,
                                                    "_open": []})
        s["targets"] += 1
        s["wan_in_bytes"] += (h.get("from_remote") or 0) + (h.get("from_origin") or 0)
        if lifecycle.is_complete(h["state"]):
            s["done"] += 1
        else:
            s["_open"].append(((h.get("bytes_done") or 0) / total if total else 0, minion, h["state"]))
    for s in sites.values():
        open_hosts = sorted(s.pop("_open"))
        s["wan_in_copies"] = round(s["wan_in_bytes"] / total, 2) if total else None
        s["slowest"] = open_hosts[0][1] if open_hosts else None
        s["stragglers"] = [f"{m} ({state}, {100 * p:.0f}%)"
                           for p, m, state in open_hosts[:STRAGGLERS_SHOWN]]
    return sites


def site_lines(view: dict[str, Any]) -> list[str]:
    """The compact table: one line for the distribution, one per site."""
    d = view["distribution"]
    lines = [f"{d['id']} {d['name']}: {d['state']}, {d['done']}/{d['targets']} done, "
             f"{d['failed']} failed, {d['pending']} pending, {d['stale']} stale, "
             f"{(d['throughput'] or 0) / 2**20:.1f} MiB/s, eta {d['eta_s']} s"]
    for name, s in sorted(view["sites"].items()):
        tail = f"  waiting: {', '.join(s['stragglers'])}" if s["stragglers"] else ""
        lines.append(f"  {name:<16} {s['done']:>5}/{s['targets']:<5} done  "
                     f"WAN in {s['wan_in_copies']} copies{tail}")
    return lines


def one_line(dist: dict[str, Any], counts: dict[str, int], now: float | None = None) -> str:
    total = sum(counts.values())
    done = sum(n for s, n in counts.items() if lifecycle.is_complete(s))
    failed = counts.get(lifecycle.FAILED, 0)
    state = distribution_state(dist, counts, now)
    return (f"{dist['name']}  {state}  {done}/{total} done  {failed} failed  "
            f"{dist['total_bytes'] / 2**20:.1f} MiB  -> {dist['dest']}  by {dist['created_by']}")

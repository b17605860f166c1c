"""Status views built from catalog rows (pure: no I/O, the clock is passed in)."""

from __future__ import annotations

from typing import Any

from salt_p2pdist import lifecycle

STALE_AFTER_S = 60.0  # a host silent this long while active shows as stale


def host_view(row: dict[str, Any], now: float, stale_after: float = STALE_AFTER_S) -> dict[str, Any]:
    state = row.get("state") or lifecycle.PENDING
    view = {k: row.get(k) for k in ("state", "pieces", "bytes_done", "down_rate", "up_rate",
                                    "peers", "downloaded", "uploaded", "eta_s", "error")}
    view["state"] = state
    ts = row.get("ts")
    view["age_s"] = round(now - ts, 1) if ts else None
    if ts and lifecycle.is_active(state) and now - ts > stale_after:
        view["state"] = "stale"
    return view


def distribution_view(dist: dict[str, Any], rows: list[dict[str, Any]], now: float,
                      origin: dict[str, Any] | None = None) -> dict[str, Any]:
    hosts = {r["minion"]: host_view(r, now) for r in rows}
    states = [h["state"] for h in hosts.values()]
    done = sum(1 for s in states if lifecycle.is_complete(s))
    total = dist["total_bytes"]
    rate = sum(h["down_rate"] or 0 for h in hosts.values())
    left = sum(total - (h["bytes_done"] or 0) for h in hosts.values()
               if not lifecycle.is_complete(h["state"]) and h["state"] != lifecycle.FAILED)
    peer_bytes = sum(h["downloaded"] or 0 for h in hosts.values())
    origin_up = (origin or {}).get("uploaded")
    summary = {
        "id": dist["id"], "name": dist["name"], "source": dist["source"], "dest": dist["dest"],
        "bytes": total, "created_by": dist["created_by"], "created": dist["created"],
        "state": lifecycle.CANCELLED if dist.get("cancelled") else lifecycle.summarize(states),
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
    return {"distribution": summary, "minions": hosts}


def one_line(dist: dict[str, Any], counts: dict[str, int]) -> str:
    total = sum(counts.values())
    done = sum(n for s, n in counts.items() if lifecycle.is_complete(s))
    failed = counts.get(lifecycle.FAILED, 0)
    state = "cancelled" if dist.get("cancelled") else (
        "complete" if done == total and total else "active")
    return (f"{dist['name']}  {state}  {done}/{total} done  {failed} failed  "
            f"{dist['total_bytes'] / 2**20:.1f} MiB  -> {dist['dest']}  by {dist['created_by']}")

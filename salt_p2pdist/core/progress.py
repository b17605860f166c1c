"""The progress board of a distribution: one bar for the whole, one per site (pure).

``salt-run p2pdist.push wait=True``, ``p2pdist.status <id> watch=True`` and
``make demo`` draw the same board (the drawing itself is in terminal.py).
"""

from __future__ import annotations

from typing import Any

from salt_p2pdist.core import lifecycle

BAR_WIDTH = 30


def bar(done: float, total: float, width: int = BAR_WIDTH) -> str:
    filled = min(width, int(width * done / total)) if total > 0 else 0
    return "[" + "#" * filled + "." * (width - filled) + "]"


def size(n: float) -> str:
    """Bytes for a person: 1.5 GiB, 12.0 MiB, 300 B."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.1f} {unit}"
    return f"{int(n)} B"


def duration(seconds: float | None) -> str:
    """An ETA for a person: 45 s, 3 min 20 s, 2 h 05 min; "?" when unknown."""
    if seconds is None:
        return "?"
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def _held(host: dict[str, Any], total: int) -> int:
    return total if lifecycle.is_complete(host["state"]) else int(host.get("bytes_done") or 0)


def board_lines(view: dict[str, Any]) -> list[str]:
    """The board for a view as built by status.distribution_view."""
    d = view["distribution"]
    total = int(d["bytes"])
    hosts = view["minions"]
    got = sum(_held(h, total) for h in hosts.values())
    eta = "" if d["state"] not in ("active", "pending") else f", eta {duration(d['eta_s'])}"
    counts = ", ".join(f"{d[k]} {k}" for k in ("failed", "pending", "stale") if d.get(k))
    lines = [f"{d['name']} ({d['id']}): {d['state']}{eta}",
             f"  {'all':<12} {bar(got, total * len(hosts))} {d['done']}/{d['targets']} done"
             f"  {size(d['throughput'] or 0)}/s" + (f"  ({counts})" if counts else "")]
    sites: dict[str, list[dict[str, Any]]] = {}
    for h in hosts.values():
        sites.setdefault(h.get("site") or "?", []).append(h)
    if len(sites) > 1 or "?" not in sites:
        for name in sorted(sites):
            members = sites[name]
            done = sum(1 for h in members if lifecycle.is_complete(h["state"]))
            held = sum(_held(h, total) for h in members)
            lines.append(f"  {name:<12} {bar(held, total * len(members))} {done}/{len(members)} done")
    return lines

"""How the runner's results read: ISO 8601 dates, and for people no None or raw numbers (pure).

``--out json`` (or yaml) gets every field, dates as ISO 8601 text and unknown
values as null. The default (human) output gets the same facts as sentences
and tables, with nothing unknown shown as ``None``.
"""

from __future__ import annotations

import datetime
from typing import Any, Final

from salt_p2pdist.core import planview, progress

# Fields that hold a UNIX time in the catalog's rows.
DATE_KEYS = frozenset({"created", "ordered", "ts", "quiet_at"})
HUMAN_OUTPUTTERS = (None, "", "nested", "txt")
NO_DISTRIBUTIONS = ("no distributions on this master; start one with: "
                    "salt-run p2pdist.push <path> tgt=<target> dest=<directory>")


def is_structured(output: str | None) -> bool:
    """True when the admin asked for a machine-readable outputter (json, yaml...)."""
    return output not in HUMAN_OUTPUTTERS


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc).isoformat(timespec="seconds")


def for_json(value: Any) -> Any:
    """Dates as ISO 8601 text, recursively; everything else as it is."""
    # Scalars are kept without a call: a status holds 10,000 minions of 15 values each.
    if isinstance(value, dict):
        return {k: iso(v) if k in DATE_KEYS and isinstance(v, (int, float))
                else for_json(v) if isinstance(v, (dict, list)) else v for k, v in value.items()}
    if isinstance(value, list):
        return [for_json(v) if isinstance(v, (dict, list)) else v for v in value]
    return value


def for_humans(value: Any) -> Any:
    """Like for_json, and unknown (None) values and empty lists or dicts left out."""
    if isinstance(value, dict):
        out = {k: for_humans(v) for k, v in for_json(value).items()}
        return {k: v for k, v in out.items() if v is not None and v != [] and v != {}}
    if isinstance(value, list):
        return [for_humans(v) for v in value]
    return value


def list_entry(summary: dict[str, Any]) -> dict[str, Any]:
    """One distribution in the list view, from status.distribution_view's summary."""
    keys = ("id", "name", "state", "priority", "created", "created_by", "source", "dest", "bytes",
            "targets", "done", "failed", "pending", "stale", "quiet_at", "expected_finish_s")
    return dict(for_json({k: summary.get(k) for k in keys}))


def list_line(e: dict[str, Any]) -> str:
    return (f"{e['name']}  {e['state']}  {e.get('priority') or 'normal'}  {e['done']}/{e['targets']} done"
            + (f", {e['failed']} failed" if e["failed"] else "")
            + f"  {progress.size(e['bytes'])} -> {e['dest']}  {e['created']} by {e['created_by']}"
            + (f"  expected in {progress.duration(e['expected_finish_s'])}"
               if e.get("expected_finish_s") is not None else ""))


def list_for_humans(entries: list[dict[str, Any]]) -> dict[str, str] | str:
    """{id: one line} (Salt's outputter prints the id, then the line), or a sentence when none."""
    return {e["id"]: list_line(e) for e in entries} if entries else NO_DISTRIBUTIONS


# The origin's part in a swarm when it is not seeding (agent/originquiet.py), for people.
ORIGIN_PARTS: Final = {
    "quiet": "quiet with the swarm, its torrent closed (it serves again when the swarm wakes)",
    "stopped": "stopped (stop_seeding): only the minions that hold it serve",
}


def detail_lines(view: dict[str, Any]) -> list[str]:
    """One distribution for people: what, when, who; the board; who is not done and why."""
    d = view["distribution"]
    lines = [f"{d['name']} ({d['id']}): {d['state']}",
             f"  {progress.size(d['bytes'])} from {d['source']} -> {d['dest']}",
             f"  pushed {iso(d['created'])} by {d['created_by']}, priority {d.get('priority') or 'normal'}"]
    if d.get("quiet_at") is not None:
        verb = "quiet since" if d["state"] == "quiet" else "goes quiet at"
        lines.append(f"  {verb} {iso(d['quiet_at'])} ({d.get('announcing', '?')} hosts announcing;"
                     " a push or p2pdist.present wakes it)")
    if d.get("origin") in ORIGIN_PARTS:  # the master's seeder, when it serves nothing
        lines.append(f"  the master's seeder: {ORIGIN_PARTS[d['origin']]}")
    if d.get("expected_finish_s") is not None:
        after = f" after {', '.join(d['ahead'])} (higher priority)" if d.get("ahead") else ""
        lines.append(f"  expected to finish in {progress.duration(d['expected_finish_s'])}{after}"
                     f" (alone: {progress.duration(d['alone_s'] or 0)})")
    for site, yields_to in sorted((d.get("held_back") or {}).items()):
        lines.append(f"  held back on the WAN at {site}: {yields_to} (higher priority) needs the link")
    if d.get("master_share") is not None:
        lines.append(f"  served by the master: {progress.size(d['served_by_master'] or 0)} "
                     f"({100 * d['master_share']:.0f} % of what the minions received)")
    lines += progress.board_lines(view)[1:]
    lines += planview.status_lines(view.get("plan"), d["state"] not in ("active", "pending"))
    for minion, h in sorted(view["minions"].items()):
        if h["state"] in ("failed", "stale", "pending"):
            why = f": {h['error']}" if h.get("error") else ""
            age = f" (last report {progress.duration(h['age_s'])} ago)" if h.get("age_s") else ""
            lines.append(f"  {minion}: {h['state']}{age}{why}")
    return lines


def compact_transfer(s: dict[str, Any]) -> dict[str, Any]:
    """A minion's transfer in a few fields (``salt '*' p2pdist.status``; verbose=True for all)."""
    total = s.get("bytes_total") or 0
    out = {"name": s.get("name"), "state": s.get("state"), "dest": s.get("dest"),
           "percent": round(100 * (s.get("bytes_done") or 0) / total, 1) if total else 100.0}
    if s.get("error"):
        out["error"] = s["error"]
    return out

"""The stages of a push's start-up, read from what a deployment's daemons log.

Times are wall-clock seconds (``time.time()``). Salt's and the agents' logs
write local time, as do Salt's job ids (a job id is the time it was made).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

# In the order they happen; "origin_up" only when the push started the origin.
STAGES = ("runner_started", "origin_up", "torrent_made", "seeded", "published", "minion_job",
          "minion_certificate", "first_handout")
STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (.*)$")


def _lines(path: Path) -> Iterator[tuple[float, str]]:
    if not path.is_file():
        return
    for line in path.read_text(errors="replace").splitlines():
        m = STAMP.match(line)
        if m:
            yield datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp(), m.group(2)


def _jid_time(jid: str) -> float:
    return datetime.strptime(jid, "%Y%m%d%H%M%S%f").timestamp()


def _first(found: Iterator[float]) -> float | None:
    return min(found, default=None)


def stage_times(root: Path, dist_id: str, since: float) -> dict[str, float | None]:
    """Each of :data:`STAGES` for the push of ``dist_id`` started at ``since`` (None: not seen)."""
    master = list(_lines(root / "logs" / "master.log"))
    origin = list(_lines(root / "master" / "cache" / "p2pdist" / "origin" / "agent.log"))
    minions = [x for log in sorted((root / "logs").glob("minion-*.log")) for x in _lines(log)]
    audit = [json.loads(line) for line in (root / "master" / "cache" / "p2pdist" / "audit.log")
             .read_text().splitlines() if line.strip()]
    certs = [(datetime.fromisoformat(a["ts"]).timestamp(), a["user"]) for a in audit
             if a["action"] == "certificate" and a.get("details", {}).get("id") == dist_id]
    pushed_pid = next((re.search(r"\]\[(\d+)\]", text) for t, text in master
                       if t >= since and f"({dist_id})" in text and "pushed" in text), None)
    runner = [m.group(1) for _, text in master if pushed_pid and f"][{pushed_pid.group(1)}]" in text
              for m in [re.search(r"Runner completed: (\d{20})", text)] if m]
    published = [m.group(1) for t, text in master if t >= since
                 for m in [re.search(r"Published command p2pdist\.fetch with jid (\d{20})", text)] if m]
    jid = published[0] if published else ""
    return {
        "runner_started": _jid_time(runner[0]) if runner else None,
        "origin_up": _first(t for t, text in origin if t >= since and "agent origin up" in text),
        "torrent_made": _first(t for t, text in master if t >= since and "torrent made" in text
                               and dist_id in text),
        "seeded": _first(t for t, user in certs if user == "origin"),
        "published": _jid_time(jid) if jid else None,
        "minion_job": _first(t for t, text in minions if jid and f"Starting a new job {jid}" in text),
        "minion_certificate": _first(t for t, user in certs if user != "origin"),
        "first_handout": _first(t for t, text in origin if t >= since and text.find(dist_id) >= 0
                                and "WAN fetchers" in text),
    }

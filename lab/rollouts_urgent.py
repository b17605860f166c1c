"""The urgent group of ``python -m lab.rollouts_bench``: priorities on a shared WAN link.

An urgent distribution alone; then the same size pushed urgent while a large
background distribution is moving. The urgent one should finish within 1.25 x
its time alone; the background one should still complete on every client; and
each branch should take in about one copy of each distribution over its WAN
link. Both distributions overlap in time, so the router's per-link counters
cannot tell their bytes apart: the split comes from the agents' own
per-distribution counters (libtorrent's payload bytes from peers outside the
host's site and from the origin), summed over a site's hosts; the router's
counters give the total of both, headers included, as a cross-check.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import time
from pathlib import Path
from typing import Any

from lab.rollouts import POLL_S, Phase, Rollouts, valid_if
from salt_p2pdist.agent.record import OrderRecord

BACKGROUND_TIMEOUT_S = 1800.0  # from the background's push; 256 MiB alone needs about 110 s per branch
COUNTED_BY = ("the agents' own per-distribution counters: from_origin + from_remote (libtorrent's "
              "payload bytes from the origin and from peers outside the host's site), summed over "
              "the site's hosts; protocol and packet headers not included")
INTERFACE_COUNTED_BY = ("the WAN router's tx bytes on the site's link (frames, headers included), "
                        "from the background's push to its last client, over the two sizes added")


def priorities_built() -> bool:
    """Whether this build carries a distribution's priority from the push to the agent."""
    return "priority" in {f.name for f in dataclasses.fields(OrderRecord)}


def holdback_built() -> bool:
    """Whether this build holds lower priorities back on a WAN link (issue 16 part 1's scheduler)."""
    return importlib.util.find_spec("salt_p2pdist.agent.holding") is not None


def urgent_phases(r: Rollouts, args: argparse.Namespace, out: dict[str, Any]) -> list[Phase]:
    if not priorities_built():
        out["urgent_alone_s"] = out["urgent_with_background_s"] = None
        out["urgent_null_reason"] = "no priority in this build: issue 16 part 1 was not merged in time"
        return []
    alone = r.run_phase("urgent_alone", r.payload("urgent-alone.bin", args.urgent_mib), priority="urgent")
    background = r.payload("background-big.bin", args.urgent_background_mib)
    urgent = r.payload("urgent-beside.bin", args.urgent_mib)
    sites = [s.name for s in r.lab.sites]
    first_site = sites[0]
    pushed: dict[str, Any] = {}

    def background_running(phase: Phase, _start: float, _sampler: Any) -> None:
        base = r.site_bytes(first_site)
        pushed["wan_before"] = {s: r.site_bytes(s) for s in sites}
        pushed["at"] = time.monotonic()
        phase.extra["push"] = pushed["push"] = r.push(background, "background")
        phase.extra["dist_id"] = pushed["push"].get("id")
        while r.site_bytes(first_site) - base < 0.1 * background.stat().st_size:
            time.sleep(0.2)
    running = r.run_phase("background_for_urgent", None, during=background_running)
    beside = r.run_phase("urgent_with_background", urgent, priority="urgent")
    finished = r.run_phase("background_completion", None,
                           during=lambda phase, _s, _sm: wait_for_background(r, background, pushed, phase))
    out["holdback_in_build"] = holdback_built()
    out["urgent_alone_s"] = valid_if(alone.seconds, alone)
    out["urgent_with_background_s"] = valid_if(beside.seconds, beside, running)
    out["background_completed"] = finished.extra.get("completed", False)
    out["background_s"] = valid_if(finished.extra.get("background_s"), running, beside, finished)
    if out["background_completed"]:
        try:
            record_wan_copies(r, out, finished, pushed,
                              {"urgent": (beside, urgent), "background": (running, background)})
        except Exception as exc:  # recorded: the figures already measured still go out
            out.setdefault("wan_copies_errors", []).append(f"{type(exc).__name__}: {exc}")
    return [alone, running, beside, finished]


def wait_for_background(r: Rollouts, path: Path, pushed: dict[str, Any], phase: Phase) -> None:
    """Until every client has the background file at dest; raises (recorded as the phase's error) if not."""
    if "at" not in pushed:
        raise RuntimeError("the background distribution was not pushed")
    left, last = set(r.lab.clients), pushed["at"]
    deadline = pushed["at"] + BACKGROUND_TIMEOUT_S
    while left and time.monotonic() < deadline:
        for c in [c for c in left if (c.dir / path.name).exists()]:
            left.discard(c)
            last = time.monotonic()
        time.sleep(POLL_S)
    phase.extra["completed"] = not left
    if left:
        raise TimeoutError(f"background not complete {BACKGROUND_TIMEOUT_S:.0f} s after its push on "
                           f"{', '.join(sorted(c.name for c in left))}")
    phase.extra["background_s"] = last - pushed["at"]
    pushed["wan_after"] = {s.name: r.site_bytes(s.name) for s in r.lab.sites}


def record_wan_copies(r: Rollouts, out: dict[str, Any], finished: Phase, pushed: dict[str, Any],
                      dists: dict[str, tuple[Phase, Path]]) -> None:
    """Per branch site and distribution: WAN bytes into the site / the distribution's size."""
    copies: dict[str, dict[str, float]] = {}
    raw: dict[str, Any] = {}
    for label, (phase, path) in dists.items():
        dist_id = phase.extra.get("dist_id")
        if not dist_id:
            out.setdefault("wan_copies_errors", []).append(f"{label}: no distribution id from its push")
            continue
        by_site, by_host = site_wan_bytes(r, str(dist_id))
        raw[label] = {"dist_id": dist_id, "bytes_into_site": by_site, "by_host": by_host}
        copies[label] = {site: round(b / path.stat().st_size, 3) for site, b in by_site.items()}
    valid = all(p.valid for p in (finished, *(ph for ph, _ in dists.values())))
    out["wan_copies_per_site"] = copies if valid else None
    out["wan_copies_worst"] = {k: max(v.values()) for k, v in copies.items() if v} if valid else None
    out["wan_copies_counted_by"] = COUNTED_BY
    finished.extra["wan_counters"] = raw
    both = sum(p.stat().st_size for _, p in dists.values())
    before, after = pushed.get("wan_before", {}), pushed.get("wan_after", {})
    into = {s: after[s] - before[s] for s in after if s in before}
    finished.extra["wan_router_bytes_into_site"] = into
    out["wan_copies_both_interface"] = {s: round(b / both, 3) for s, b in into.items()} if valid else None
    out["wan_copies_both_interface_counted_by"] = INTERFACE_COUNTED_BY


def site_wan_bytes(r: Rollouts, dist_id: str) -> tuple[dict[str, int], dict[str, Any]]:
    """From every minion's agent: the distribution's from_origin + from_remote, added up per site."""
    assert r.p2p.salt is not None
    answers = r.p2p.salt.salt("*", "p2pdist.status", dist_id, timeout=60)
    by_site = {s.name: 0 for s in r.lab.sites}
    by_host: dict[str, Any] = {}
    for c in r.lab.clients:
        answer = answers.get(c.name)
        if not isinstance(answer, dict):
            raise RuntimeError(f"p2pdist.status {dist_id} on {c.name}: {str(answer)[:200]}")
        counted = {k: int(answer.get(k) or 0) for k in ("from_site", "from_remote", "from_origin")}
        by_host[c.name] = counted
        by_site[c.site] += counted["from_remote"] + counted["from_origin"]
    return by_site, by_host

"""A plan for a person, and a plan held against a distribution's progress (pure).

``salt-run p2pdist.plan`` prints :func:`plan_lines`; ``p2pdist.status <id>``
adds :func:`against_plan` per site: what the bound allowed by now, what the
site holds, and when it should finish at its current pace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from salt_p2pdist.core.progress import duration, size


def _bytes(n: int | None) -> str:
    return "?" if n is None else size(n)


def _eta(seconds: float | None) -> str:
    return "?" if seconds is None else f"{seconds:.1f} s" if seconds < 60 else duration(seconds)


def plan_lines(plan: Mapping[str, Any]) -> list[str]:
    binding = plan["binding"]
    bound = plan["bound_s"]
    head = (f"{size(plan['size_bytes'])} to {plan['branch_sites']} branch site(s), "
            f"{plan['shape']} WAN: ")
    if bound is None:
        head += "no bound: no link rate is known"
    else:
        head += f"{'at least ' if not plan['complete'] else ''}{bound:.1f} s"
        if binding:
            head += f", bound by {binding['term']} ({binding['what']})"
    lines = [head]
    for t in plan["terms"]:
        lines.append(f"  term {t['term']:<22} {t['seconds']:8.1f} s  {t['what']}")
    hq = plan["hq"]
    lines.append(f"  {'HQ':<14} up {hq['up_mbit'] or '?'} Mbit/s"
                 f"  sends {_bytes(hq['wan_out_bytes'])}")
    for name, site in sorted(plan["sites"].items()):
        if site.get("on_hq_lan"):
            lines.append(f"  {name:<14} {site['hosts']} host(s) on the HQ LAN: no WAN link")
            continue
        lines.append(f"  {name:<14} {site['hosts']} host(s)  down {site['down_mbit'] or '?'} / "
                     f"up {site['up_mbit'] or '?'} Mbit/s  eta {_eta(site['eta_s'])}"
                     f"  in {_bytes(site['wan_in_bytes'])}, out {_bytes(site['wan_out_bytes'])}")
    lines += [f"  cannot know: {u}" for u in plan["unknown"]]
    return lines


def against_plan(plan: Mapping[str, Any], held: Mapping[str, int], elapsed: float
                 ) -> dict[str, dict[str, Any]]:
    """Per site: the planned ETA, the share the plan had delivered by ``elapsed``, the actual share.

    ``held`` maps a site to the bytes its targets hold together. A site's own
    ETA from now on is its pace so far extrapolated (None before any byte).
    """
    total = plan["size_bytes"]
    out: dict[str, dict[str, Any]] = {}
    for name, site in plan["sites"].items():
        want = total * max(1, int(site["hosts"]))
        have = min(int(held.get(name, 0)), want)
        eta = site["eta_s"]
        planned = None if eta is None else 1.0 if eta <= 0 else min(1.0, elapsed / eta)
        pace = have / elapsed if elapsed > 0 else 0.0
        left = (want - have) / pace if pace > 0 else None
        out[name] = {"planned_eta_s": eta, "planned_fraction": planned,
                     "fraction": have / want if want else 1.0,
                     "eta_s": 0.0 if have >= want else left}
    return out

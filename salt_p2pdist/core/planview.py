"""A plan for a person, and a plan held against a distribution's progress (pure).

``salt-run p2pdist.plan`` prints :func:`plan_lines`; ``p2pdist.status <id>``
adds :func:`against_plan` per site: what the bound allowed by now, what the
site holds, and when it should finish at its current pace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from salt_p2pdist.core import lifecycle
from salt_p2pdist.core.planner import NO_SITE, plan
from salt_p2pdist.core.progress import duration, size
from salt_p2pdist.core.wanlinks import Wan


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


def progress_against_plan(view: Mapping[str, Any], wan: Wan, now: float) -> dict[str, Any]:
    """The plan for a distribution as pushed (its size, its targets per site) beside its progress."""
    d = view["distribution"]
    total = int(d["bytes"])
    hosts: dict[str, int] = {}
    held: dict[str, int] = {}
    for h in view["minions"].values():
        site = h.get("site") or NO_SITE
        site = NO_SITE if site.startswith("host:") else site  # in no configured site
        hosts[site] = hosts.get(site, 0) + 1
        done = total if lifecycle.is_complete(h["state"]) else int(h.get("bytes_done") or 0)
        held[site] = held.get(site, 0) + done
    p = plan(wan, hosts, total)
    elapsed = max(0.0, now - float(d["created"] or now))
    return {"bound_s": p["bound_s"], "binding": p["binding"], "complete": p["complete"],
            "unknown": p["unknown"], "elapsed_s": elapsed,
            "sites": against_plan(p, held, elapsed)}


def alone_remaining_s(view: Mapping[str, Any], wan: Wan, now: float) -> float | None:
    """What a distribution still needs of the WAN with the links to itself (None: unknown rates).

    The planner's bound for it as pushed, scaled by the share of its bytes not
    yet at its targets (the priority model, core/priority.expected_finish, adds the others).
    """
    planned = view.get("plan") or progress_against_plan(view, wan, now)  # the status view's, if made
    bound = planned["bound_s"]
    if bound is None:
        return None
    total = int(view["distribution"]["bytes"])
    hosts = list(view["minions"].values())
    have = sum(total if lifecycle.is_complete(h["state"]) else min(total, int(h.get("bytes_done") or 0))
               for h in hosts)
    want = total * len(hosts)
    return float(bound) * (1 - have / want) if want else 0.0


def status_lines(planned: Mapping[str, Any] | None, settled: bool = False) -> list[str]:
    """``p2pdist.status <id>`` for people: per site, the plan's share by now and the actual one.

    A settled distribution shows only the bound; one on a WAN without rates says so.
    """
    if not planned:
        return []
    bound, binding = planned["bound_s"], planned["binding"]
    if bound is None:
        return ["  bound: unknown (no link rates in p2pdist:sites / p2pdist:hq)"]
    head = (f"  bound {'at least ' if not planned['complete'] else ''}{bound:.1f} s"
            + (f" ({binding['term']})" if binding else ""))
    if settled:
        return [head]
    lines = [f"{head}, {planned['elapsed_s']:.0f} s since the push"]
    for name, s in sorted(planned["sites"].items()):
        share = "?" if s["planned_fraction"] is None else f"{100 * s['planned_fraction']:.0f} %"
        lines.append(f"  {name:<12} planned {_eta(s['planned_eta_s'])} ({share} by now), "
                     f"has {100 * s['fraction']:.0f} %, eta {_eta(s['eta_s'])}")
    return lines

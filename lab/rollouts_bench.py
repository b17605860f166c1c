"""``python -m lab.rollouts_bench``: roll-outs as admins run them, in the WAN lab (root).

One lab (default: 2 branches x 2 clients, 20 Mbit/s branch links, 100 Mbit/s
HQ), one real Salt master and a real minion per client, the product's default
settings. In the same run:

- a business flow (a TCP download from HQ to a branch client, 20 s) alone on
  the idle link; then the same flow started mid-way through a background
  distribution, and mid-way through a normal one (the baseline);
- a background distribution alone: the fraction of the branch link it uses;
- a new version of an image (2 % changed in place in a few regions) pushed to
  minions holding v1: bytes into the worst branch / size;
- an urgent distribution alone, and the same pushed while a background one runs;
  then the background one's completion and the WAN copies of each per branch
  (lab/rollouts_urgent.py).

Each phase records the machine's CPU busy fraction; a saturated phase is marked
invalid, and its figure is not reported as met.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from lab.params import LabParams
from lab.rollouts import Phase, Rollouts, change_in_place, steady_rate, valid_if
from lab.rollouts_urgent import priorities_built, urgent_phases
from lab.session import open_lab

DEFAULT_OUT = Path("bench/results/rollouts.json")
TARGETS = {"business_flow_share": ">= 0.80", "background_link_use": ">= 0.90",
           "delta_wan_fraction": "<= 0.05", "urgent_with_background_s": "<= 1.25 x urgent_alone_s",
           "background_completed": "true", "wan_copies_worst": "about 1 per site per distribution"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m lab.rollouts_bench", description=__doc__.split("\n")[0])
    p.add_argument("--branches", type=int, default=2)
    p.add_argument("--clients", type=int, default=2)
    p.add_argument("--branch-mbit", type=float, default=20.0)
    p.add_argument("--hq-mbit", type=float, default=100.0)
    p.add_argument("--background-mib", type=float, default=64.0, help="the part-2 distributions")
    p.add_argument("--business-s", type=float, default=20.0)
    p.add_argument("--delta-mib", type=float, default=256.0)
    p.add_argument("--urgent-mib", type=float, default=32.0)
    p.add_argument("--urgent-background-mib", type=float, default=256.0)
    p.add_argument("--phases", default="business,delta,urgent",
                   help="which groups to run: business, yield (the business flow beside background "
                   "only), alone (background alone only), delta, urgent")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--logs", type=Path, help="keep the daemons' logs in this dir")
    return p.parse_args(argv)


def business_phases(r: Rollouts, args: argparse.Namespace, out: dict[str, Any]) -> list[Phase]:
    lab = r.lab
    site, client = lab.sites[0], lab.sites[0].clients[0]
    cap = site.down_mbit * 1e6 / 8  # bytes/s of frames, as tbf and the counters count them

    idle = r.run_phase("business_idle", None, during=flow_midway_idle(r, client, args))
    phases = [idle]
    idle_bps = idle.extra.get("business", {}).get("bytes_per_s")
    for name, priority in (("background_with_business", "background"), ("normal_with_business", "")):
        if priority and not priorities_built():
            phases.append(Phase(name, error="no priority in this build (issue 16 part 1 not merged)"))
            continue
        phases.append(r.run_phase(name, r.payload(f"{name}.bin", args.background_mib),
                                  priority=priority, during=flow_midway(r, args, "business")))
    alone = (r.run_phase("background_alone", r.payload("background_alone.bin", args.background_mib),
                         priority="background") if priorities_built()
             else Phase("background_alone", error="no priority in this build (issue 16 part 1 not merged)"))
    phases.append(alone)
    link_use(r, alone, out)
    shares = {p.name: (p.extra["business"]["bytes_per_s"] / idle_bps
                       if idle_bps and "business" in p.extra else None) for p in phases[1:3]}
    out.update({
        "business_idle_bytes_per_s": idle_bps, "branch_link_bytes_per_s": cap,
        "business_flow_share": valid_if(shares.get("background_with_business"), phases[1], idle),
        "baseline_business_flow_share": valid_if(shares.get("normal_with_business"), phases[2], idle),
    })
    return phases


def yield_phases(r: Rollouts, args: argparse.Namespace, out: dict[str, Any]) -> list[Phase]:
    """Only the business flow alone and beside a background distribution (to tune by)."""
    idle = r.run_phase("business_idle", None, during=flow_midway_idle(r, r.lab.sites[0].clients[0], args))
    beside = r.run_phase("background_with_business", r.payload("yield.bin", args.background_mib),
                         priority="background", during=flow_midway(r, args, "business"))
    idle_bps = idle.extra["business"]["bytes_per_s"] if "business" in idle.extra else None
    if idle_bps and "business" in beside.extra:
        share = beside.extra["business"]["bytes_per_s"] / idle_bps
        out["business_flow_share"] = valid_if(share, idle, beside)
    return [idle, beside]


def alone_phases(r: Rollouts, args: argparse.Namespace, out: dict[str, Any]) -> list[Phase]:
    """Only a background distribution alone: the fraction of the branch link it uses (to tune by)."""
    alone = r.run_phase("background_alone", r.payload("alone.bin", args.background_mib),
                        priority="background")
    link_use(r, alone, out)
    return [alone]


def link_use(r: Rollouts, alone: Phase, out: dict[str, Any]) -> None:
    rates = {s: steady_rate(alone.samples, s.name) for s in r.lab.sites} if not alone.error else {}
    alone.extra["link_use_by_site"] = {s.name: rate / (s.down_mbit * 1e6 / 8) if rate else None
                                       for s, rate in rates.items()}
    uses = [v for v in alone.extra["link_use_by_site"].values() if v is not None]
    out["background_link_use"] = valid_if(min(uses) if uses else None, alone)


def flow_midway(r: Rollouts, args: argparse.Namespace, key: str) -> Any:
    """During a phase: once the first site has 20 % of the payload, the business flow."""
    site, client = r.lab.sites[0], r.lab.sites[0].clients[0]
    size = int(args.background_mib * 1024 * 1024)

    def during(phase: Phase, _start: float, _sampler: Any) -> None:
        base = r.site_bytes(site.name)
        while r.site_bytes(site.name) - base < 0.2 * size:  # mid-distribution
            time.sleep(0.2)
        phase.extra[key] = r.business(client, args.business_s)
    return during


def flow_midway_idle(r: Rollouts, client: Any, args: argparse.Namespace) -> Any:
    def during(phase: Phase, _start: float, _sampler: Any) -> None:
        phase.extra["business"] = r.business(client, args.business_s)
    return during


def delta_phases(r: Rollouts, args: argparse.Namespace, out: dict[str, Any]) -> list[Phase]:
    v1 = r.payload("image.bin", args.delta_mib, folder="image-v1")
    first = r.run_phase("delta_v1", v1)
    v2 = r.origin / "image-v2" / "image.bin"
    v2.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(v1, v2)
    changed = change_in_place(v2, 0.02, regions=5, seed=16)
    inodes = {c.name: (c.dir / "image.bin").stat().st_ino for c in r.lab.clients
              if (c.dir / "image.bin").exists()}
    before = {s.name: r.site_bytes(s.name) for s in r.lab.sites}
    second = r.run_phase("delta_v2", v2, done=lambda c: (c.dir / "image.bin").exists()
                         and (c.dir / "image.bin").stat().st_ino != inodes.get(c.name))
    into = {s.name: r.site_bytes(s.name) - before[s.name] for s in r.lab.sites}
    size = v2.stat().st_size
    second.extra.update({"changed_bytes": changed, "bytes_into_site": into})
    out["delta_wan_fraction"] = valid_if(max(into.values()) / size if second.seconds else None, second, first)
    return [first, second]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    params = LabParams(branches=args.branches, clients_per_branch=args.clients,
                       branch_mbit=args.branch_mbit, hq_mbit=args.hq_mbit, size_mib=1)
    groups = {"business": business_phases, "yield": yield_phases, "alone": alone_phases,
              "delta": delta_phases, "urgent": urgent_phases}
    out: dict[str, Any] = {"lab": {"branches": args.branches, "clients_per_branch": args.clients,
                                   "branch_mbit": args.branch_mbit, "hq_mbit": args.hq_mbit},
                           "sizes_mib": {"background": args.background_mib, "delta": args.delta_mib,
                                         "urgent": args.urgent_mib,
                                         "urgent_background": args.urgent_background_mib},
                           "business_s": args.business_s, "targets": TARGETS}
    phases: list[Phase] = []
    with open_lab(params, logs_to=args.logs) as lab:
        r = Rollouts(lab)
        r.start()
        try:
            for name in [n.strip() for n in args.phases.split(",") if n.strip()]:
                phases += groups[name](r, args, out)
                out["phases"] = [p.to_json() for p in phases]
                _write(args.out, out)
        finally:
            r.stop()
    print(json.dumps({k: v for k, v in out.items() if k != "phases"}, indent=1))
    return 0 if all(p.valid for p in phases) else 1


def _write(path: Path, out: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())

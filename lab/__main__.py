"""``python -m lab``: build the WAN lab and compare distributions.

Run as root. Example (the default lab, one run of the baselines)::

    python -m lab --scenarios http,bittorrent --runs 1
    python -m lab --topology bench/topologies/hub.yaml --size-mib 16 --chart hub.png
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

from lab import scenarios as registry
from lab.harness import run_scenario
from lab.netns import LabError
from lab.params import DEFAULT_PREFIX, MODES, SALT, LabParams
from lab.report import (
    HEADER,
    RunRecord,
    client_line,
    median_record,
    table_row,
    write_json,
)
from lab.session import LabInterrupted, open_lab
from lab.shapes import load as load_shape
from lab.tools import ensure_tools, lab_possible, which

DEFAULT_OUT = Path("bench/results/latest.json")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m lab", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--branches", type=int, default=4, help="branch sites (default 4)")
    p.add_argument("--clients-per-branch", "--clients", type=int, default=5,
                   help="clients per site (default 5)")
    p.add_argument("--branch-mbit", type=float, default=20.0,
                   help="each site's WAN link, Mbit/s each way (default 20)")
    p.add_argument("--hq-mbit", type=float, default=100.0,
                   help="HQ uplink, Mbit/s each way (default 100)")
    p.add_argument("--size-mib", type=float, default=64.0, help="payload MiB (default 64)")
    p.add_argument("--topology", type=Path,
                   help="a YAML file of sites with their own rates, mesh or hub (lab/shapes.py);"
                        " replaces --branches, --clients, --branch-mbit, --hq-mbit")
    p.add_argument("--chart", type=Path,
                   help="draw bytes into each site over time per way, bound drawn in (PNG;"
                        " needs matplotlib: requirements-bench.txt)")
    p.add_argument("--mode", choices=MODES, default=SALT,
                   help="how p2pdist's Salt side runs: 'salt', a real salt-master and one salt-minion"
                        " per client (default); 'agents', the same orders to the same agents and"
                        " tracker with no Salt daemon, for labs larger than the machine holds"
                        " (lab/agentsdriver.py says what it leaves out)")
    p.add_argument("--runs", type=int, default=1, help="runs of each scenario (default 1)")
    p.add_argument("--scenarios", default="",
                   help="comma-separated, in order (default: all available: "
                        "http,bittorrent,p2pdist)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help=f"JSON results (default {DEFAULT_OUT})")
    p.add_argument("--logs", type=Path, help="keep the processes' logs in this dir")
    p.add_argument("--no-install", action="store_true",
                   help="do not apt-get install missing tools, fail instead")
    p.add_argument("--prefix", default=DEFAULT_PREFIX, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        shape = load_shape(args.topology) if args.topology else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    params = LabParams(
        branches=args.branches, clients_per_branch=args.clients_per_branch,
        branch_mbit=args.branch_mbit, hq_mbit=args.hq_mbit, size_mib=args.size_mib,
        prefix=args.prefix, shape=shape, mode=args.mode,
    )
    problems = params.validate() + ([] if args.runs >= 1 else ["--runs must be >= 1"])
    if problems:
        print("\n".join(f"error: {p}" for p in problems), file=sys.stderr)
        return 2
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()] or registry.available()
    try:
        chosen = [registry.get(n) for n in names]
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    ok, why = lab_possible()
    if not ok:
        print(f"error: no lab possible here: {why}", file=sys.stderr)
        return 2
    tools = [t for s in chosen for t in s.tools]
    try:
        if args.no_install:
            absent = [t for t in tools if which(t) is None]
            if absent:
                raise RuntimeError(f"missing {', '.join(absent)} (--no-install)")
        else:
            installed = ensure_tools(tools)
            if installed:
                print(f"[lab] installed: {' '.join(installed)}", file=sys.stderr)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    binding = params.plan["binding"] or {}
    print(f"{params.layout.name} ({params.layout.wan}): bound {params.bound_s:.1f} s for "
          f"{params.size_mib:g} MiB, bound by {binding.get('term')} ({binding.get('what')}); "
          f"T_lb = max(F/slowest branch, F/HQ) = {params.t_lb_s:.1f} s; "
          f"scenarios: {', '.join(names)}; p2pdist in the {params.mode} mode", flush=True)
    records: list[RunRecord] = []
    try:
        with open_lab(params, logs_to=args.logs) as lab:
            print(HEADER, flush=True)
            for run_no in range(1, args.runs + 1):
                # Scenarios take turns within each run, so that a slow drift
                # of the machine (page cache, thermal) is spread over all.
                for scenario in chosen:
                    record = run_scenario(lab, scenario, run_no)
                    records.append(record)
                    print(table_row(record), flush=True)
                    print(client_line(record), flush=True)
                    write_json(args.out, records)
    except (KeyboardInterrupt, LabInterrupted) as exc:
        print(f"\ninterrupted ({str(exc) or 'Ctrl-C'}); lab torn down", file=sys.stderr)
        return 130
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    by_name: dict[str, list[RunRecord]] = defaultdict(list)
    for r in records:
        by_name[r.scenario].append(r)
    if args.runs > 1:
        medians = [median_record(rs) for rs in by_name.values()]
        print("\nmedian of", args.runs, "runs:")
        print(HEADER)
        for m in medians:
            print(table_row(m))
        records.extend(medians)
    write_json(args.out, records)
    print(f"results: {args.out}")
    if args.chart:
        from lab.chart import draw  # matplotlib: a bench-only dependency

        draw(args.chart, [r for r in records if r.run != "median"], params)
        print(f"chart: {args.chart}")
    return 0 if all(r.hash_ok for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
